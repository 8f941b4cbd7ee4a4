//! [`PolicyError`]: what policy optimisation can fail with.

/// Result alias with [`PolicyError`].
pub type Result<T, E = PolicyError> = std::result::Result<T, E>;

/// Errors of the policy optimisers (PPO, DPO, best-of-n) and their anchors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// From the model layer (tokenizer, generation, optimiser, soups, non-finite losses).
    #[error(transparent)]
    Model(#[from] rlp_models::ModelError),
    /// From the core layer (devices, records, JSONL).
    #[error(transparent)]
    Core(#[from] rlp_core::CoreError),
    /// From the training driver (run directories, checkpoints, non-finite losses).
    #[error(transparent)]
    Train(#[from] rlp_train::TrainError),
    /// From the reward layer (reward-model training and scoring).
    #[error(transparent)]
    Reward(#[from] rlp_reward::RewardError),
    /// A setting or argument that cannot be used; `field` names it.
    #[error("invalid `{field}`: {message}")]
    Invalid {
        /// The setting or argument at fault.
        field: String,
        /// Why.
        message: String,
    },
    /// A [`RewardFn`](rlp_core::RewardFn) failed or returned unusable scores.
    #[error("reward `{name}`: {message}")]
    RewardFn {
        /// The reward's name.
        name: String,
        /// Its error.
        message: String,
    },
    /// After skipping unusable pairs nothing is left to train on.
    #[error("no usable pairs in {what}: {skipped}")]
    NoPairs {
        /// Which data.
        what: String,
        /// The skip counts.
        skipped: String,
    },
}

impl PolicyError {
    /// A [`PolicyError::Invalid`] naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
