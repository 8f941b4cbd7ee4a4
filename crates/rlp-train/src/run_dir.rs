//! [`RunDir`]: the directory a run writes, and the rules that keep it safe.
//!
//! - **Nothing overwritten without asking.** [`RunDir::claim`] refuses a directory that holds a
//!   run or a model unless told to replace it ([`Existing::Overwrite`]) or continue it
//!   ([`Existing::Resume`]).
//! - **Atomic checkpoints.** [`RunDir::write_checkpoint`] assembles `checkpoint-N` under a
//!   temporary name, syncs every file, and renames it into place, so a kill at any moment
//!   leaves every `checkpoint-N` complete; [`RunDir::latest_checkpoint`] only ever sees those.
//! - **Records that match the weights.** On resume, [`RunDir::truncate_jsonl`] drops the lines
//!   a killed run wrote after its last checkpoint, rewriting the file atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use rlp_core::parallel;

use crate::error::{Result, TrainError};

/// The sub-directory of `checkpoint-N/` holding the trainer's state.
pub const TRAINER_DIR: &str = "trainer";
/// The file inside [`TRAINER_DIR`] every trainer state has; its presence marks a resumable
/// checkpoint.
pub const STATE_FILE: &str = "state.json";
/// The per-step records of a run.
pub const METRICS_FILE: &str = "metrics.jsonl";

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
    /// From the `--overwrite` and `--resume` flags (`--overwrite` wins).
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

/// A run's output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run directory `root`, as it is (no checks; [`RunDir::claim`] is the checked way in).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Makes `root` ready to write a run into, as `existing` says: a missing directory, or one
    /// holding no run or model, is used as it is; one holding a run or a model is refused
    /// (naming it and the flags that proceed), deleted ([`Existing::Overwrite`]) or kept for the
    /// run to continue ([`Existing::Resume`]). `resumable` says whether the caller offers
    /// `--resume` (the refusal mentions it only then).
    ///
    /// Under data parallelism only rank 0 checks and deletes (it alone writes the run); the
    /// other ranks take the directory as it is.
    pub fn claim(root: impl Into<PathBuf>, existing: Existing, resumable: bool) -> Result<Self> {
        let root = root.into();
        if !parallel::is_writer() {
            return Ok(Self { root });
        }
        if root.is_file() {
            return Err(TrainError::run_dir(
                &root,
                "is a file, not a directory; name a directory for the run (--out)",
            ));
        }
        if let Some(found) = root.is_dir().then(|| marker(&root)).flatten() {
            match existing {
                Existing::Refuse => {
                    return Err(TrainError::run_dir(
                        &root,
                        format!(
                            "already holds a run or a model ({found}); pass --overwrite to \
                             replace it{}, or choose another --out",
                            if resumable {
                                ", --resume to continue it"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                Existing::Overwrite => {
                    std::fs::remove_dir_all(&root).map_err(|e| TrainError::io(&root, e))?
                }
                Existing::Resume => {}
            }
        }
        Ok(Self { root })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.root.join(name)
    }

    /// Creates the directory (and its parents) if missing (rank 0 of a data-parallel group
    /// only, as for every write below; the other ranks read what it wrote).
    pub fn create(&self) -> Result<()> {
        if !parallel::is_writer() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.root).map_err(|e| TrainError::io(&self.root, e))
    }

    /// The directory of checkpoint `step`.
    pub fn checkpoint_dir(&self, step: usize) -> PathBuf {
        self.root.join(format!("checkpoint-{step}"))
    }

    /// Every complete resumable checkpoint `(step, dir)`, oldest first: a `checkpoint-N`
    /// directory holding `trainer/state.json`. Directories still being assembled never carry
    /// that name.
    pub fn checkpoints(&self) -> Vec<(usize, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut found: Vec<(usize, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let step = path
                    .file_name()?
                    .to_str()?
                    .strip_prefix("checkpoint-")?
                    .parse()
                    .ok()?;
                path.join(TRAINER_DIR)
                    .join(STATE_FILE)
                    .is_file()
                    .then_some((step, path))
            })
            .collect();
        found.sort();
        found
    }

    /// The newest complete resumable checkpoint.
    pub fn latest_checkpoint(&self) -> Option<(usize, PathBuf)> {
        self.checkpoints().pop()
    }

    /// Writes checkpoint `step` atomically: `fill` writes its files into a fresh temporary
    /// directory, which is then synced and renamed to `checkpoint-{step}` (replacing one of
    /// that name). A failure or a kill at any point leaves every existing checkpoint intact.
    pub fn write_checkpoint<E: From<TrainError>>(
        &self,
        step: usize,
        fill: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<PathBuf, E> {
        let dir = self.checkpoint_dir(step);
        if !parallel::is_writer() {
            return Ok(dir);
        }
        let tmp = self.root.join(format!(".checkpoint-{step}.partial"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        fill(&tmp)?;
        sync_tree(&tmp)?;
        if dir.exists() {
            let old = self.root.join(format!(".checkpoint-{step}.old"));
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| TrainError::io(&old, e))?;
            }
            std::fs::rename(&dir, &old).map_err(|e| TrainError::io(&dir, e))?;
            std::fs::rename(&tmp, &dir).map_err(|e| TrainError::io(&dir, e))?;
            std::fs::remove_dir_all(&old).map_err(|e| TrainError::io(&old, e))?;
        } else {
            std::fs::rename(&tmp, &dir).map_err(|e| TrainError::io(&dir, e))?;
        }
        sync_dir(&self.root)?;
        Ok(dir)
    }

    /// Removes what killed runs left half-written: `.checkpoint-N.partial` and `.old`
    /// directories.
    pub fn remove_partials(&self) -> Result<()> {
        if !parallel::is_writer() {
            return Ok(());
        }
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".checkpoint-")
                && (name.ends_with(".partial") || name.ends_with(".old"))
            {
                std::fs::remove_dir_all(e.path()).map_err(|err| TrainError::io(&e.path(), err))?;
            }
        }
        Ok(())
    }

    /// Appends `value` as one JSON line to the file `name` in the directory, flushed.
    pub fn append_jsonl(&self, name: &str, value: &impl serde::Serialize) -> Result<()> {
        if !parallel::is_writer() {
            return Ok(());
        }
        let path = self.root.join(name);
        let line = serde_json::to_string(value)
            .map_err(|e| TrainError::run_dir(&path, format!("not serialisable: {e}")))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        writeln!(f, "{line}").map_err(|e| TrainError::io(&path, e))
    }

    /// Keeps the JSON lines of the file `name` whose integer `key` is at most `last` (a killed
    /// run's records after its checkpoint go), rewriting it atomically; returns the kept lines.
    /// A missing file is an empty one. Ranks other than 0 only read the kept lines.
    pub fn truncate_jsonl(
        &self,
        name: &str,
        key: &str,
        last: usize,
    ) -> Result<Vec<serde_json::Value>> {
        let path = self.root.join(name);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        // The kept lines are written back as they were read: parsing and printing a float
        // again may change its last digit.
        let (mut kept, mut body) = (Vec::new(), String::new());
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            // A line torn by a kill mid-write is the last one; it is dropped with the rest.
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                if i + 1 == text.lines().count() {
                    break;
                }
                return Err(TrainError::run_dir(
                    &path,
                    format!("line {}: not JSON", i + 1),
                ));
            };
            let at = v[key].as_u64().ok_or_else(|| {
                TrainError::run_dir(&path, format!("line {}: no integer `{key}`", i + 1))
            })?;
            if at as usize <= last {
                kept.push(v);
                body.push_str(line);
                body.push('\n');
            }
        }
        if parallel::is_writer() {
            write_atomic(&path, body.as_bytes())?;
        }
        Ok(kept)
    }
}

/// Writes `bytes` to `path` through a temporary file that is synced and renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let tmp = path.with_file_name(name);
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| TrainError::io(&tmp, e))?;
        f.sync_all().map_err(|e| TrainError::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// Syncs every file below `dir`, then the directories themselves.
fn sync_tree(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir)
        .map_err(|e| TrainError::io(dir, e))?
        .flatten()
    {
        let path = e.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|err| TrainError::io(&path, err))?;
        }
    }
    sync_dir(dir)
}

/// Syncs a directory's entries (so a rename in it survives a crash).
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| TrainError::io(dir, e))
}

/// Runs `run` into `out` after [`RunDir::claim`]ing it. When the run fails, a directory that
/// did not exist before and holds no weights yet (no `model.safetensors` or `checkpoint-*`
/// anywhere below it) is removed, so a run refused for a bad config or missing data leaves
/// nothing behind; one that failed after saving weights is kept for inspection or `--resume`.
pub fn run_in<T, E: From<TrainError>>(
    out: &Path,
    existing: Existing,
    resumable: bool,
    run: impl FnOnce(&RunDir) -> Result<T, E>,
) -> Result<T, E> {
    let dir = RunDir::claim(out, existing, resumable)?;
    let created = !out.exists();
    let result = run(&dir);
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

/// An error when `init` (the checkpoint a run starts from) and `out` name the same directory:
/// training would overwrite the checkpoint it starts from, whatever the flags say.
pub fn refuse_init_as_out(init: Option<&Path>, out: &Path) -> Result<()> {
    let Some(init) = init else { return Ok(()) };
    let same = match (init.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => init == out,
    };
    if same {
        return Err(TrainError::invalid(
            "init",
            format!(
                "`init` and `out` (--init, --out) both name {}: training would overwrite the \
                 checkpoint it starts from; choose another --out",
                out.display()
            ),
        ));
    }
    Ok(())
}

/// Makes the output file `path` ready to write: refused when it exists, unless `overwrite`.
pub fn claim_file(path: &Path, overwrite: bool) -> Result<()> {
    if path.is_dir() {
        return Err(TrainError::run_dir(
            path,
            "is a directory, not a file (--out)",
        ));
    }
    if path.exists() && !overwrite {
        return Err(TrainError::run_dir(
            path,
            "already exists; pass --overwrite to replace it, or choose another --out",
        ));
    }
    Ok(())
}

/// `base` when it holds no run, else the first of `base-2`, `base-3`, … that holds none: where
/// a command with a default output directory writes, so that running it again keeps the
/// previous run.
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
        let d = rlp_core::ScratchDir::new("rundir-claim").unwrap();
        let out = d.join("run");
        // Missing, then empty, then holding an unrelated file: all fine.
        RunDir::claim(&out, Existing::Refuse, false).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        RunDir::claim(&out, Existing::Refuse, false).unwrap();
        // A run: refused, naming the directory, the marker and the flags.
        std::fs::write(out.join("config.toml"), "").unwrap();
        let e = RunDir::claim(&out, Existing::Refuse, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("run") && e.contains("config.toml"), "{e}");
        assert!(e.contains("--overwrite") && e.contains("--resume"), "{e}");
        let e = RunDir::claim(&out, Existing::Refuse, false)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("--resume"), "{e}");
        // Resume keeps it; overwrite removes it.
        RunDir::claim(&out, Existing::Resume, true).unwrap();
        assert!(out.join("notes.txt").exists());
        RunDir::claim(&out, Existing::Overwrite, true).unwrap();
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
        // init == out is refused even when both exist.
        assert!(refuse_init_as_out(Some(d.path()), d.path()).is_err());
        refuse_init_as_out(Some(&base), d.path()).unwrap();
    }

    #[test]
    fn a_failed_run_leaves_nothing_unless_it_saved_weights() {
        let d = rlp_core::ScratchDir::new("rundir-run-in").unwrap();
        let out = d.join("bad");
        let r: Result<()> = run_in(&out, Existing::Refuse, false, |run| {
            run.create()?;
            std::fs::write(run.join("config.toml"), "").unwrap();
            Err(TrainError::invalid("lr", "bad"))
        });
        assert!(r.is_err() && !out.exists());
        // Weights saved before the failure: kept.
        let r: Result<()> = run_in(&out, Existing::Refuse, true, |run| {
            std::fs::create_dir_all(run.checkpoint_dir(5)).unwrap();
            Err(TrainError::invalid("lr", "bad"))
        });
        assert!(r.is_err() && out.join("checkpoint-5").exists());
        // A directory that existed before is never removed by a failure.
        let mine = d.join("mine");
        std::fs::create_dir_all(&mine).unwrap();
        let r: Result<()> = run_in(&mine, Existing::Refuse, false, |_| {
            Err(TrainError::invalid("data", "missing"))
        });
        assert!(r.is_err() && mine.exists());
    }

    #[test]
    fn checkpoints_appear_whole_or_not_at_all() {
        let d = rlp_core::ScratchDir::new("rundir-ckpt").unwrap();
        let run = RunDir::new(d.join("run"));
        run.create().unwrap();
        let fill = |text: &'static str| {
            move |dir: &Path| -> Result<()> {
                std::fs::create_dir_all(dir.join(TRAINER_DIR)).unwrap();
                std::fs::write(dir.join(TRAINER_DIR).join(STATE_FILE), text).unwrap();
                Ok(())
            }
        };
        run.write_checkpoint(2, fill("two")).unwrap();
        run.write_checkpoint(4, fill("four")).unwrap();
        // A fill that fails half-way (a kill mid-save looks the same on disk) leaves only a
        // hidden partial directory, which is not a checkpoint and is cleared on resume.
        let r = run.write_checkpoint(6, |dir: &Path| -> Result<()> {
            std::fs::create_dir_all(dir.join(TRAINER_DIR)).unwrap();
            Err(TrainError::invalid("disk", "full"))
        });
        assert!(r.is_err());
        assert_eq!(
            run.checkpoints().iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(run.latest_checkpoint().unwrap().0, 4);
        assert!(run.join(".checkpoint-6.partial").exists());
        run.remove_partials().unwrap();
        assert!(!run.join(".checkpoint-6.partial").exists());
        // A directory named like a checkpoint but without a trainer state is not one.
        std::fs::create_dir_all(run.checkpoint_dir(9)).unwrap();
        assert_eq!(run.latest_checkpoint().unwrap().0, 4);
        // Rewriting a checkpoint replaces it whole.
        run.write_checkpoint(4, fill("four again")).unwrap();
        let text = std::fs::read_to_string(run.checkpoint_dir(4).join("trainer/state.json"));
        assert_eq!(text.unwrap(), "four again");
    }

    #[test]
    fn truncation_keeps_records_up_to_the_checkpoint() {
        let d = rlp_core::ScratchDir::new("rundir-trunc").unwrap();
        let run = RunDir::new(d.path());
        for step in 1..=5u64 {
            run.append_jsonl("m.jsonl", &serde_json::json!({"step": step}))
                .unwrap();
        }
        // A torn last line, as a kill mid-write leaves.
        let path = run.join("m.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"step\": 6, \"lo");
        std::fs::write(&path, text).unwrap();
        let kept = run.truncate_jsonl("m.jsonl", "step", 3).unwrap();
        assert_eq!(kept.len(), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(
            run.truncate_jsonl("missing.jsonl", "step", 3)
                .unwrap()
                .is_empty()
        );
        // Kept lines keep their bytes: this float, parsed by serde_json's default (fast,
        // not always exact) parser and printed again, came back as …2143071e-8.
        let line = "{\"step\": 1, \"approx_kl\": 5.8763870214307165e-8}";
        std::fs::write(&path, format!("{line}\n{{\"step\": 2}}\n")).unwrap();
        run.truncate_jsonl("m.jsonl", "step", 1).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{line}\n"));
        // A torn line in the middle is corruption, named with its line.
        std::fs::write(&path, "{\"step\": 1}\n{bad\n{\"step\": 2}\n").unwrap();
        let e = run
            .truncate_jsonl("m.jsonl", "step", 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.jsonl") && e.contains("line 2"), "{e}");
    }
}
