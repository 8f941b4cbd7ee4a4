//! [`TaskError`]: what loading a task can fail with.

use std::path::PathBuf;

/// Errors of loading a task, its base policy or its gold scorer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// A task name [`crate::load_task`] does not know.
    #[error("unknown task `{name}` (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names known.
        known: String,
    },
    /// A run asked for the dev split of a task that has none.
    #[error("task `{task}` has no dev split (eval.split = \"dev\" needs one; arith has one)")]
    NoDevSplit {
        /// The task.
        task: String,
    },
    /// A shipped asset that is missing or unreadable; `path` names it.
    #[error("{path}: {message}")]
    Asset {
        /// The file or directory at fault.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A model that had to be fetched could not be (the message says why).
    #[error("fetching a task asset: {0}")]
    Fetch(String),
    /// From the toxicity model's loader.
    #[error(transparent)]
    Profanity(#[from] crate::profanity::ProfanityError),
    /// From the model layer (checkpoints, tokenizers).
    #[error(transparent)]
    Model(#[from] rlp_models::ModelError),
    /// From the reward layer (classifier checkpoints).
    #[error(transparent)]
    Reward(#[from] rlp_reward::RewardError),
}
