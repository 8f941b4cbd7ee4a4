//! Where a task's shipped files are found at run time. Nothing is compiled into the library, so
//! the crate packages on its own; a clone of the repository runs offline as it is.
//!
//! Each kind of file has one root, looked up in this order:
//!
//! | kind | 1. variable (wins when set) | 2. the checkout | 3. the cache |
//! |---|---|---|---|
//! | models (`<task>/base`, `<task>/gold`) | `$RLP_ASSETS` | `models/` | `CACHE/assets/models` |
//! | datasets (`<task>/*.jsonl`) | `$RLP_DATASETS` | `datasets/` | `CACHE/assets/datasets` |
//!
//! "The checkout" is the repository the library was built from, found from its manifest
//! directory; `CACHE` is [`rlp_models::fetch::cache_root`] (`$RLP_CACHE`, else
//! `$XDG_CACHE_HOME/rlp`, else `~/.cache/rlp`). A binary installed elsewhere finds its files
//! through the variables, or in the cache once a copy of the repository's `models/` and
//! `datasets/` is placed there. An error names every place it looked.

use std::path::{Path, PathBuf};

use rlp_core::burn::tensor::Device;
use rlp_models::fetch::cache_root;
use rlp_models::{TextTokenizer, checkpoint};

use crate::error::TaskError;
use crate::task::BasePolicy;

/// The two kinds of shipped files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    /// Model directories (`config.json`, weights, `tokenizer.json`).
    Models,
    /// Prompt and corpus files.
    Datasets,
}

impl AssetKind {
    /// The directory name in the checkout and in the cache.
    pub fn dir_name(self) -> &'static str {
        match self {
            Self::Models => "models",
            Self::Datasets => "datasets",
        }
    }

    /// The variable that names this kind's root.
    pub fn variable(self) -> &'static str {
        match self {
            Self::Models => "RLP_ASSETS",
            Self::Datasets => "RLP_DATASETS",
        }
    }
}

/// The roots searched for `kind`, in order: the variable's alone when it is set, else the
/// checkout's and the cache's.
pub fn roots(kind: AssetKind) -> Vec<PathBuf> {
    if let Some(root) = std::env::var_os(kind.variable()) {
        return vec![PathBuf::from(root)];
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    vec![
        checkout.join(kind.dir_name()),
        cache_root().join("assets").join(kind.dir_name()),
    ]
}

/// The directory of task `name` under the first root that has one; when none has, under the
/// first root (so an error names where it was expected).
pub fn task_dir(kind: AssetKind, name: &str) -> PathBuf {
    let roots = roots(kind);
    roots
        .iter()
        .map(|r| r.join(name))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| roots[0].join(name))
}

/// The directory holding task `name`'s models (`base/`, and `gold/` where there is one).
pub fn models_dir(name: &str) -> PathBuf {
    task_dir(AssetKind::Models, name)
}

/// The directory holding task `name`'s prompt and corpus files.
pub fn datasets_dir(name: &str) -> PathBuf {
    task_dir(AssetKind::Datasets, name)
}

/// Where to look, said in one line for error messages.
fn searched(kind: AssetKind, task: &str) -> String {
    let places: Vec<String> = roots(kind)
        .iter()
        .map(|r| r.join(task).display().to_string())
        .collect();
    format!(
        "looked in {}; run from a checkout of the rlp repository, or set {} to a directory \
         holding {task}/",
        places.join(" and "),
        kind.variable()
    )
}

/// An error naming `dir` unless it holds a `config.json` (a model directory).
pub fn require_model_dir(dir: &Path, task: &str) -> Result<(), TaskError> {
    if dir.join("config.json").is_file() {
        return Ok(());
    }
    Err(TaskError::Asset {
        path: dir.to_path_buf(),
        message: format!(
            "not a model directory ({})",
            searched(AssetKind::Models, task)
        ),
    })
}

/// The text of `file` in task `task`'s dataset directory.
pub fn read_dataset(task: &str, file: &str) -> Result<String, TaskError> {
    let path = datasets_dir(task).join(file);
    std::fs::read_to_string(&path).map_err(|e| TaskError::Asset {
        message: format!("{e} ({})", searched(AssetKind::Datasets, task)),
        path,
    })
}

/// Every non-blank line of the dataset file `task/file`, parsed as JSON into `T`; an error names
/// the file and the line.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(
    task: &str,
    file: &str,
) -> Result<Vec<T>, TaskError> {
    parse_jsonl(&read_dataset(task, file)?, &datasets_dir(task).join(file))
}

/// Every non-blank line of `text` (the contents of `path`) parsed as JSON into `T`.
pub fn parse_jsonl<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<Vec<T>, TaskError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| TaskError::Asset {
                path: path.to_path_buf(),
                message: format!("line {}: {e}", i + 1),
            })
        })
        .collect()
}

/// The shipped base policy of task `name` (`models/<name>/base`) and its tokenizer.
pub fn shipped_base_policy(name: &str, device: &Device) -> Result<BasePolicy, TaskError> {
    let dir = models_dir(name).join("base");
    require_model_dir(&dir, name)?;
    Ok(BasePolicy {
        model: checkpoint::load(&dir, device)?,
        tokenizer: TextTokenizer::load(dir.join("tokenizer.json"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_holds_every_task_s_files() {
        for task in ["tweet-sentiment", "arith"] {
            assert!(
                models_dir(task).join("base/config.json").is_file(),
                "{task}"
            );
        }
        for task in ["tweet-sentiment", "tweet-detox"] {
            assert!(
                datasets_dir(task).join("prompts_train.jsonl").is_file(),
                "{task}"
            );
        }
    }

    #[test]
    fn a_missing_file_names_its_path_and_the_places_searched() {
        let err = read_dataset("no-such-task", "x.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no-such-task/x.jsonl"), "{err}");
        assert!(
            err.contains("looked in") && err.contains("RLP_DATASETS"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_line_is_named_by_file_and_number() {
        let path = Path::new("t/p.jsonl");
        let ok: Vec<serde_json::Value> = parse_jsonl("{\"a\": 1}\n\n{\"a\": 2}\n", path).unwrap();
        assert_eq!(ok.len(), 2);
        let err = parse_jsonl::<serde_json::Value>("{\"a\": 1}\n\nnot json\n", path)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t/p.jsonl: line 3:"), "{err}");
    }
}
