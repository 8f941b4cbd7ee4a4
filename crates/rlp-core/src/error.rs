//! The error type of `rlp-core`.

use std::path::PathBuf;

/// Result alias with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Errors raised by `rlp-core`: bad user input always names the file, line or field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The backend string is not one of `flex | ndarray | wgpu | cuda[:N]`.
    #[error("unknown backend `{0}`: expected one of flex, ndarray, wgpu, cuda[:N]")]
    UnknownBackend(String),
    /// The backend exists but this binary was built without its Cargo feature.
    #[error("backend `{backend}` is not compiled in: rebuild with `--features {feature}`")]
    BackendNotCompiled {
        /// The backend that was asked for.
        backend: String,
        /// The Cargo feature that enables it.
        feature: &'static str,
    },
    /// An I/O failure on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSONL line that does not parse into the expected record.
    #[error("{path}:{line}: {message}")]
    Jsonl {
        /// The file at fault.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// What went wrong (serde's message names the field).
        message: String,
    },
    /// A dataset with no usable records.
    #[error("{path}: the dataset is empty")]
    EmptyDataset {
        /// The file at fault.
        path: PathBuf,
    },
    /// Tensor shapes or lengths that do not agree.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A value outside its valid range (names the field).
    #[error("invalid value for `{field}`: {message}")]
    InvalidValue {
        /// The field at fault.
        field: String,
        /// Why it is invalid.
        message: String,
    },
}

impl CoreError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
