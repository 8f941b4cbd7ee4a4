//! The toxicity model's numbers, fetched through the project's own script: the embedded
//! `scripts/export_profanity.py` downloads `alt-profanity-check==1.9.1` from PyPI, checks its
//! sha256, unpickles it with scikit-learn 1.9.1 (installed once into the cache when missing) and
//! writes `CACHE/profanity/profanity.json`. Re-running is a no-op.
//!
//! The script is embedded and run only with the `fetch` feature (the rlp binary enables it);
//! without it, [`fetch_profanity`] finds a model already exported into the cache, and otherwise
//! says how to get it.

use std::path::{Path, PathBuf};
#[cfg(feature = "fetch")]
use std::process::Command;

use rlp_models::fetch::cache_root;

/// The export script, embedded so an installed binary can run it.
#[cfg(feature = "fetch")]
pub const EXPORT_SCRIPT: &str = include_str!("../scripts/export_profanity.py");

/// Where the export lands under a cache root.
pub fn profanity_path(cache: &Path) -> PathBuf {
    cache.join("profanity").join("profanity.json")
}

/// Exports (or finds) the toxicity model under `cache` (default [`cache_root`]) and returns the
/// JSON file's path. Needs `python3` with `pip` and PyPI access on the first call; progress and
/// errors of the script go to stderr.
pub fn fetch_profanity(cache: Option<&Path>) -> Result<PathBuf, String> {
    let root = cache.map(Path::to_path_buf).unwrap_or_else(cache_root);
    let out = profanity_path(&root);
    #[cfg(feature = "fetch")]
    return export(&out, &root);
    #[cfg(not(feature = "fetch"))]
    if out.is_file() {
        Ok(out)
    } else {
        Err(format!(
            "{} is missing and this build does not export it: run `rlp fetch profanity`, or \
             enable rlp-tasks' `fetch` feature (it runs the project's Python script)",
            out.display()
        ))
    }
}

/// Runs the export script into `out` under the cache `root`.
#[cfg(feature = "fetch")]
fn export(out: &Path, root: &Path) -> Result<PathBuf, String> {
    let dir = out.parent().expect("has a parent");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The script re-executes itself after installing scikit-learn, so it runs from a file.
    let script = dir.join("export_profanity.py");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(EXPORT_SCRIPT) {
        std::fs::write(&script, EXPORT_SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    }
    let status = Command::new("python3")
        .arg(&script)
        .arg(out)
        .env("RLP_CACHE", root)
        .status()
        .map_err(|e| format!("cannot run python3 (needed for `pip download`): {e}"))?;
    if !status.success() || !out.is_file() {
        return Err(format!(
            "{} failed ({status}); its message is above",
            script.display()
        ));
    }
    Ok(out.to_path_buf())
}
