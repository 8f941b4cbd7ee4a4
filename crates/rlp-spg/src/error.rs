//! [`SpgError`]: what synthetic preference generation can fail with.

/// Result alias with [`SpgError`].
pub type Result<T, E = SpgError> = std::result::Result<T, E>;

/// Errors of sampling, clustering and pair building.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpgError {
    /// From the model layer (generation, tokenizer, sentence encoder).
    #[error(transparent)]
    Model(#[from] rlp_models::ModelError),
    /// From the reward layer.
    #[error(transparent)]
    Reward(#[from] rlp_reward::RewardError),
    /// From the core layer.
    #[error(transparent)]
    Core(#[from] rlp_core::CoreError),
    /// A setting or argument that cannot be used; `field` names it.
    #[error("invalid `{field}`: {message}")]
    Invalid {
        /// The setting or argument at fault.
        field: String,
        /// Why.
        message: String,
    },
    /// The reward function scoring the responses failed or answered wrongly.
    #[error("reward `{name}`: {message}")]
    Scorer {
        /// The reward function's name.
        name: String,
        /// Its error.
        message: String,
    },
    /// A clusterer (or the embedder / entailment model behind it) failed or answered wrongly.
    #[error("clusterer `{name}`: {message}")]
    Clusterer {
        /// The clusterer's name.
        name: String,
        /// What went wrong.
        message: String,
    },
}

impl SpgError {
    /// An [`SpgError::Invalid`].
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An [`SpgError::Clusterer`].
    pub fn clusterer(name: &str, message: impl Into<String>) -> Self {
        Self::Clusterer {
            name: name.into(),
            message: message.into(),
        }
    }
}
