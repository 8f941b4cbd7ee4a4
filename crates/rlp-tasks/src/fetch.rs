//! The toxicity model's numbers, fetched through the project's own script: the embedded
//! `scripts/export_profanity.py` downloads `alt-profanity-check==1.9.1` from PyPI, checks its
//! sha256, unpickles it with scikit-learn 1.9.1 (installed once into the cache when missing) and
//! writes `CACHE/profanity/profanity.json`. Re-running is a no-op.

use std::path::{Path, PathBuf};
use std::process::Command;

use rlp_models::fetch::cache_root;

/// The export script, embedded so an installed binary can run it.
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
    let dir = out.parent().expect("has a parent");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The script re-executes itself after installing scikit-learn, so it runs from a file.
    let script = dir.join("export_profanity.py");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(EXPORT_SCRIPT) {
        std::fs::write(&script, EXPORT_SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    }
    let status = Command::new("python3")
        .arg(&script)
        .arg(&out)
        .env("RLP_CACHE", &root)
        .status()
        .map_err(|e| format!("cannot run python3 (needed for `pip download`): {e}"))?;
    if !status.success() || !out.is_file() {
        return Err(format!(
            "{} failed ({status}); its message is above",
            script.display()
        ));
    }
    Ok(out)
}
