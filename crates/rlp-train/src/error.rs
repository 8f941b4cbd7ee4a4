//! [`TrainError`]: what the driver, run directories and epoch trainers can fail with.

use std::path::{Path, PathBuf};

/// Result alias with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// Errors of the training driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// From the model layer (checkpoints, tokenizer, optimiser, non-finite losses).
    #[error(transparent)]
    Model(#[from] rlp_models::ModelError),
    /// From the core layer (JSONL, devices).
    #[error(transparent)]
    Core(#[from] rlp_core::CoreError),
    /// An I/O failure on a named file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory at fault.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A setting that cannot be used; `field` names it.
    #[error("invalid `{field}`: {message}")]
    Invalid {
        /// The setting at fault.
        field: String,
        /// Why.
        message: String,
    },
    /// A run directory that cannot be used as asked (holds a run, has nothing to resume, …).
    #[error("{path}: {message}")]
    RunDir {
        /// The run directory or the file in it at fault.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A saved trainer state that does not fit the trainer restoring it.
    #[error("{path}: trainer state: {message}")]
    State {
        /// The state file at fault.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
    /// A failure in a callback (evaluation, logging, saving extra files), with its whole chain
    /// of causes as text.
    #[error("{0}")]
    Callback(String),
    /// A step whose loss or gradient norm is not finite; nothing was updated or saved.
    #[error(
        "step {step}: {what} is {value}; the weights were not updated and no checkpoint was \
         written (lower the learning rate, check the data, or resume from the last checkpoint)"
    )]
    NonFinite {
        /// The step (1-based) that produced it.
        step: usize,
        /// What was not finite (`loss`, `gradient norm`).
        what: String,
        /// Its value.
        value: f64,
    },
}

impl TrainError {
    /// An [`TrainError::Io`] on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An [`TrainError::Invalid`].
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A [`TrainError::RunDir`].
    pub fn run_dir(path: &Path, message: impl Into<String>) -> Self {
        Self::RunDir {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// A [`TrainError::State`].
    pub fn state(path: &Path, message: impl Into<String>) -> Self {
        Self::State {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
