//! The error type of `rlp-eval`: bad input names the argument at fault; nothing panics on it.

use std::path::PathBuf;

use rlp_core::BoxError;

/// Result alias with [`EvalError`].
pub type Result<T, E = EvalError> = std::result::Result<T, E>;

/// Errors raised while evaluating, plotting or writing reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// An argument with an invalid value (empty where items are needed, out of range, NaN…).
    #[error("invalid `{arg}`: {message}")]
    Input {
        /// The argument at fault.
        arg: String,
        /// Why it is invalid.
        message: String,
    },
    /// Two arguments that must have one item each per row do not.
    #[error("length mismatch: `{a}` has {len_a} items but `{b}` has {len_b}")]
    LengthMismatch {
        /// The first argument.
        a: String,
        /// Its length.
        len_a: usize,
        /// The second argument.
        b: String,
        /// Its length.
        len_b: usize,
    },
    /// A reward function failed or returned the wrong number of scores.
    #[error("reward function `{name}`: {message}")]
    Reward {
        /// The reward function's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A judge failed or returned an invalid probability.
    #[error("judge `{name}`: {message}")]
    Judge {
        /// The judge's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// An error from `rlp-models` (tokenizer, generation, context window).
    #[error(transparent)]
    Model(#[from] rlp_models::ModelError),
    /// An error from `rlp-core`.
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
    /// No font file for plot text was found.
    #[error(
        "no font for plot text: set RLP_PLOT_FONT to a .ttf file, or install one (Debian: `apt-get install fonts-dejavu-core`); searched: {}",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    FontNotFound {
        /// Every path that was tried.
        searched: Vec<PathBuf>,
    },
    /// The plotting library failed while drawing or encoding a file.
    #[error("plot {path}: {message}")]
    Plot {
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl EvalError {
    /// An [`EvalError::Input`] for argument `arg`.
    pub fn input(arg: &str, message: impl Into<String>) -> Self {
        Self::Input {
            arg: arg.into(),
            message: message.into(),
        }
    }

    /// An [`EvalError::Io`] on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`EvalError::Reward`] from a reward function's boxed error.
    pub fn reward(name: String, source: BoxError) -> Self {
        Self::Reward {
            name,
            message: source.to_string(),
        }
    }
}

/// Errors unless `a` and `b` have the same length; names both arguments.
pub fn same_len(a: &str, len_a: usize, b: &str, len_b: usize) -> Result<()> {
    if len_a != len_b {
        return Err(EvalError::LengthMismatch {
            a: a.into(),
            len_a,
            b: b.into(),
            len_b,
        });
    }
    Ok(())
}

/// Errors when an argument that needs items has none.
pub fn non_empty(arg: &str, len: usize) -> Result<()> {
    if len == 0 {
        return Err(EvalError::input(arg, "is empty"));
    }
    Ok(())
}

/// Scores `(prompts, responses)` with `reward`, checking it returns one finite score per row.
pub fn score_checked(
    reward: &dyn rlp_core::RewardFn,
    prompts: &[String],
    responses: &[String],
) -> Result<Vec<f64>> {
    let scores = reward
        .score(prompts, responses)
        .map_err(|e| EvalError::reward(reward.name(), e))?;
    if scores.len() != responses.len() {
        return Err(EvalError::Reward {
            name: reward.name(),
            message: format!(
                "returned {} scores for {} responses",
                scores.len(),
                responses.len()
            ),
        });
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(EvalError::Reward {
            name: reward.name(),
            message: format!("score {i} is not finite ({})", scores[i]),
        });
    }
    Ok(scores.into_iter().map(f64::from).collect())
}
