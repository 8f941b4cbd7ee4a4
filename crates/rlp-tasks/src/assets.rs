//! Where the shipped task models live: `$RLP_ASSETS/<task>` when that variable is set, else
//! `models/<task>` of the checkout the library was built from.

use std::path::{Path, PathBuf};

use rlp_core::burn::tensor::Device;
use rlp_models::{TextTokenizer, checkpoint};

use crate::error::TaskError;
use crate::task::BasePolicy;

/// The directory holding task `name`'s models (`base/`, and `gold/` where there is one).
pub fn models_dir(name: &str) -> PathBuf {
    match std::env::var_os("RLP_ASSETS") {
        Some(root) => PathBuf::from(root).join(name),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models")).join(name),
    }
}

/// An error naming `dir` unless it holds a `config.json` (a model directory).
pub fn require_model_dir(dir: &Path, task: &str) -> Result<(), TaskError> {
    if dir.join("config.json").is_file() {
        return Ok(());
    }
    Err(TaskError::Asset {
        path: dir.to_path_buf(),
        message: format!(
            "not a model directory (run from a checkout of the rlp repository, or set \
             RLP_ASSETS to a directory holding {task}/)"
        ),
    })
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
