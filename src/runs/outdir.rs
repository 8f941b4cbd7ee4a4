//! Output paths the CLI writes: nothing that holds a run or a model is overwritten unless the
//! user asks (`--overwrite`), or continues it (`--resume`, where the verb resumes).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What to do with an output directory that already holds a run or a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Existing {
    /// Refuse, naming the directory and what it holds (the default).
    #[default]
    Refuse,
    /// Replace it: the directory is deleted first (`--overwrite`).
    Overwrite,
    /// Continue the run in it (`--resume`).
    Resume,
}

impl Existing {
    /// From the `--overwrite` and `--resume` flags (clap keeps them exclusive).
    pub fn from_flags(overwrite: bool, resume: bool) -> Self {
        match (overwrite, resume) {
            (true, _) => Existing::Overwrite,
            (false, true) => Existing::Resume,
            (false, false) => Existing::Refuse,
        }
    }
}

/// Files whose presence marks a directory as a run or a model directory.
pub const MARKERS: &[&str] = &[
    "config.toml",
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "metrics.jsonl",
    "eval.jsonl",
    "results.jsonl",
    "report.md",
];

/// The first of [`MARKERS`] in `dir`, if any.
pub fn marker(dir: &Path) -> Option<&'static str> {
    MARKERS.iter().copied().find(|m| dir.join(m).exists())
}

/// Makes `out` ready for a verb to write a run or model into, as `existing` says: a missing
/// directory, or one holding no run or model, is used as it is; one holding a run or a model
/// is refused (naming it and the flags that proceed), deleted (`Overwrite`) or kept for the
/// verb to continue (`Resume`). `resumable` says whether the verb offers `--resume`.
pub fn claim(out: &Path, existing: Existing, resumable: bool) -> Result<()> {
    if out.is_file() {
        bail!(
            "--out {}: is a file, not a directory; name a directory for the run",
            out.display()
        );
    }
    let Some(found) = out.is_dir().then(|| marker(out)).flatten() else {
        return Ok(());
    };
    match existing {
        Existing::Refuse => bail!(
            "--out {}: already holds a run or a model ({found}); pass --overwrite to replace \
             it{}, or choose another --out",
            out.display(),
            if resumable {
                ", --resume to continue it"
            } else {
                ""
            }
        ),
        Existing::Overwrite => std::fs::remove_dir_all(out)
            .with_context(|| format!("--overwrite: removing {}", out.display())),
        Existing::Resume => Ok(()),
    }
}

/// Runs `verb` into `out` after [`claim`]ing it. When the verb fails, a directory that did not
/// exist before and holds no weights yet (no `model.safetensors` or `checkpoint-*` anywhere
/// below it) is removed, so a run refused for a bad config or missing data leaves nothing
/// behind; one that failed after saving weights is kept for inspection or `--resume`.
pub fn run_in<T>(
    out: &Path,
    existing: Existing,
    resumable: bool,
    verb: impl FnOnce() -> Result<T>,
) -> Result<T> {
    claim(out, existing, resumable)?;
    let created = !out.exists();
    let result = verb();
    if result.is_err() && created && out.is_dir() && !holds_weights(out) {
        let _ = std::fs::remove_dir_all(out);
    }
    result
}

/// Whether `dir` or a directory below it holds a `model.safetensors` or a `checkpoint-*`.
fn holds_weights(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name == "model.safetensors"
            || name.starts_with("checkpoint-")
            || (e.path().is_dir() && holds_weights(&e.path()))
    })
}

/// An error when `init` (the checkpoint a verb starts from) and `out` name the same directory:
/// training would overwrite the checkpoint it starts from, whatever the flags say.
pub fn refuse_init_as_out(init: Option<&Path>, out: &Path) -> Result<()> {
    let Some(init) = init else { return Ok(()) };
    let same = match (init.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => init == out,
    };
    if same {
        bail!(
            "`init` and `out` (--init, --out) both name {}: training would overwrite the \
             checkpoint it starts from; choose another --out",
            out.display()
        );
    }
    Ok(())
}

/// Makes the output file `path` ready to write: refused when it exists, unless `overwrite`.
pub fn claim_file(path: &Path, overwrite: bool) -> Result<()> {
    if path.is_dir() {
        bail!("--out {}: is a directory, not a file", path.display());
    }
    if path.exists() && !overwrite {
        bail!(
            "--out {}: already exists; pass --overwrite to replace it, or choose another --out",
            path.display()
        );
    }
    Ok(())
}

/// `base` when it holds no run, else the first of `base-2`, `base-3`, … that holds none: where
/// a command with a default output directory (the main job, the demo) writes, so that running
/// it again keeps the previous run.
pub fn next_free(base: &Path) -> PathBuf {
    let free = |p: &Path| !p.is_dir() || marker(p).is_none();
    if free(base) {
        return base.to_path_buf();
    }
    (2..)
        .map(|i| PathBuf::from(format!("{}-{i}", base.display())))
        .find(|p| free(p))
        .expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_models_are_refused_unless_asked() {
        let d = rlp_core::ScratchDir::new("outdir").unwrap();
        let out = d.join("run");
        // Missing, then empty, then holding an unrelated file: all fine.
        claim(&out, Existing::Refuse, false).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        claim(&out, Existing::Refuse, false).unwrap();
        // A run: refused, naming the marker and the flags.
        std::fs::write(out.join("config.toml"), "").unwrap();
        let e = claim(&out, Existing::Refuse, true).unwrap_err().to_string();
        assert!(e.contains("config.toml") && e.contains("--overwrite") && e.contains("--resume"));
        let e = claim(&out, Existing::Refuse, false)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("--resume"), "{e}");
        // Resume keeps it; overwrite removes it.
        claim(&out, Existing::Resume, true).unwrap();
        assert!(out.join("notes.txt").exists());
        claim(&out, Existing::Overwrite, true).unwrap();
        assert!(!out.exists());
        // next_free skips directories that hold runs.
        let base = d.join("pipeline");
        assert_eq!(next_free(&base), base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("report.md"), "").unwrap();
        assert_eq!(next_free(&base), d.join("pipeline-2"));
        // Files: refused when present unless overwrite.
        let f = d.join("pairs.jsonl");
        claim_file(&f, false).unwrap();
        std::fs::write(&f, "x").unwrap();
        assert!(
            claim_file(&f, false)
                .unwrap_err()
                .to_string()
                .contains("--overwrite")
        );
        claim_file(&f, true).unwrap();
        assert!(claim_file(d.path(), true).is_err());
    }

    #[test]
    fn a_failed_run_leaves_nothing_unless_it_saved_weights() {
        let d = rlp_core::ScratchDir::new("outdir-run").unwrap();
        let out = d.join("bad");
        let r: Result<()> = run_in(&out, Existing::Refuse, false, || {
            std::fs::create_dir_all(&out)?;
            std::fs::write(out.join("config.toml"), "")?;
            bail!("bad config")
        });
        assert!(r.is_err() && !out.exists());
        // Weights saved before the failure: kept.
        let r: Result<()> = run_in(&out, Existing::Refuse, true, || {
            std::fs::create_dir_all(out.join("checkpoint-5"))?;
            bail!("non-finite loss")
        });
        assert!(r.is_err() && out.join("checkpoint-5").exists());
        // A directory that existed before is never removed by a failure.
        let mine = d.join("mine");
        std::fs::create_dir_all(&mine).unwrap();
        let r: Result<()> = run_in(&mine, Existing::Refuse, false, || bail!("no data"));
        assert!(r.is_err() && mine.exists());
    }
}
