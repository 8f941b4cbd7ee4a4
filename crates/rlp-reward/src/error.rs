//! [`RewardError`]: what reward-model code can fail with.

use std::path::PathBuf;

/// Result alias with [`RewardError`].
pub type Result<T, E = RewardError> = std::result::Result<T, E>;

/// Errors of reward-model training, scoring and labelling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewardError {
    /// From the model layer (checkpoints, tokenizer, optimiser).
    #[error(transparent)]
    Model(#[from] rlp_models::ModelError),
    /// From the training driver (run directories, checkpoints, non-finite losses).
    #[error(transparent)]
    Train(#[from] rlp_train::TrainError),
    /// From the core layer (JSONL, devices, records).
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
    /// A scorer (gold or member) failed.
    #[error("scorer `{name}`: {message}")]
    Scorer {
        /// The scorer's name.
        name: String,
        /// Its error.
        message: String,
    },
    /// A reward-model checkpoint directory that is not one.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The file at fault.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// After skipping unusable pairs nothing is left to train or evaluate on.
    #[error("no usable pairs in {what}: {skipped}")]
    NoPairs {
        /// Which data.
        what: String,
        /// The skip counts.
        skipped: String,
    },
}

impl RewardError {
    /// An [`RewardError::Invalid`].
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
