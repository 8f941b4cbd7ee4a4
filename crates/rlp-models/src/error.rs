//! The error type of `rlp-models`.

use std::path::PathBuf;

/// Result alias with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Errors raised while building, loading, saving or running models and tokenizers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An error from `rlp-core` (I/O, JSONL, device).
    #[error(transparent)]
    Core(#[from] rlp_core::CoreError),
    /// An I/O failure on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration field with an invalid value; names the file (if any) and the field.
    #[error("{origin}: invalid `{field}`: {message}")]
    Config {
        /// Where the config came from (a path, or "config").
        origin: String,
        /// The field at fault.
        field: String,
        /// Why it is invalid.
        message: String,
    },
    /// A checkpoint that lacks a tensor, has one of the wrong shape, or is unreadable.
    #[error("{path}: tensor `{tensor}`: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor name at fault (HF naming).
        tensor: String,
        /// What is wrong.
        message: String,
    },
    /// A tokenizer that cannot be loaded, trained, or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tokenizer's ids do not fit the model's vocabulary.
    #[error(
        "tokenizer/model mismatch: the tokenizer has {tokenizer} ids but the model's vocab_size is {model}"
    )]
    VocabMismatch {
        /// Vocabulary size of the tokenizer.
        tokenizer: usize,
        /// Vocabulary size of the model.
        model: usize,
    },
    /// A sequence longer than the model's context window.
    #[error(
        "sequence of {len} tokens (+{new} new) exceeds the context window of {max} (max_position_embeddings)"
    )]
    ContextOverflow {
        /// Tokens in the prompt or sequence.
        len: usize,
        /// New tokens requested.
        new: usize,
        /// The model's context window.
        max: usize,
    },
    /// Invalid input to a model call (names the argument).
    #[error("invalid `{field}`: {message}")]
    InvalidInput {
        /// The argument at fault.
        field: String,
        /// Why it is invalid.
        message: String,
    },
    /// Fetching a pretrained artifact from the package registry failed.
    #[error("fetch `{name}`: {message}")]
    Fetch {
        /// The artifact name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A GGUF file that cannot be read or converted; names the file and the tensor or field.
    #[error("{path}: {what}: {message}")]
    Gguf {
        /// The GGUF file.
        path: PathBuf,
        /// The metadata key or tensor name at fault (or `header`).
        what: String,
        /// What is wrong.
        message: String,
    },
    /// Training produced a non-finite loss.
    #[error("non-finite loss {loss} at step {step}: training stopped")]
    NonFiniteLoss {
        /// The step it happened at.
        step: u64,
        /// The loss value.
        loss: f64,
    },
    /// A finite loss whose gradient is not finite (an overflow in the backward pass): the
    /// weights were not updated.
    #[error(
        "non-finite gradient norm {norm} at step {step} (loss {loss}): training stopped before \
         the update; lower the learning rate or check the data"
    )]
    NonFiniteGradient {
        /// The step it happened at.
        step: u64,
        /// The loss value (finite).
        loss: f64,
        /// The global L2 norm of the gradient.
        norm: f64,
    },
}

impl ModelError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A `config.json` field error: `origin` names the file.
    pub(crate) fn config(origin: &str, field: &str, message: impl Into<String>) -> Self {
        Self::Config {
            origin: origin.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// The first of `fields` (name, value) that is zero, as a config error of `origin`.
    pub(crate) fn require_positive(origin: &str, fields: &[(&str, usize)]) -> Result<()> {
        match fields.iter().find(|(_, v)| *v == 0) {
            Some((field, _)) => Err(Self::config(origin, field, "must be positive")),
            None => Ok(()),
        }
    }

    /// An [`Self::InvalidInput`] naming `field`.
    pub fn input(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }
}
