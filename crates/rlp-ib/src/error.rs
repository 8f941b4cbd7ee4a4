//! [`IbError`]: what the information-bottleneck code can fail with.

/// Result alias with [`IbError`].
pub type Result<T, E = IbError> = std::result::Result<T, E>;

/// Errors of RLP-UML training and its multi-view objectives.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IbError {
    /// From the reward layer (encoding, the epoch loop, non-finite losses).
    #[error(transparent)]
    Reward(#[from] rlp_reward::RewardError),
    /// From the model layer (tokenizer, devices, optimiser).
    #[error(transparent)]
    Model(#[from] rlp_models::ModelError),
    /// A setting or argument that cannot be used; `field` names it.
    #[error("invalid `{field}`: {message}")]
    Invalid {
        /// The setting or argument at fault.
        field: String,
        /// Why.
        message: String,
    },
    /// After skipping unusable items too few are left to train on.
    #[error("not enough usable {what}: {message}")]
    NotEnough {
        /// Which data (`preference pairs`, `view pairs`).
        what: String,
        /// How many are left, and the skip counts.
        message: String,
    },
}

impl IbError {
    /// An [`IbError::Invalid`] naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
