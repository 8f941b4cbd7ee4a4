//! [`ScratchDir`]: a fresh directory under the system temp dir that is deleted when dropped, for
//! tests and tools that stage files (checkpoints, imports, JSONL) and must not leave them behind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CoreError, Result};

/// Distinguishes the directories one process creates.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A directory `$TMPDIR/rlp-<label>-<pid>-<n>`, created empty and removed (with everything in
/// it) on drop. Unique per process and call, so parallel tests never share one.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates the directory; `label` only makes its name readable.
    pub fn new(label: &str) -> Result<Self> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rlp-{label}-{}-{n}", std::process::id()));
        // A leftover from a crashed run with the same pid is stale: start empty.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| CoreError::io(&path, e))?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `self.path().join(name)`.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_fresh_unique_and_removed_on_drop() {
        let a = ScratchDir::new("scratch").unwrap();
        let b = ScratchDir::new("scratch").unwrap();
        assert_ne!(a.path(), b.path());
        assert!(a.path().is_dir() && std::fs::read_dir(a.path()).unwrap().next().is_none());
        std::fs::create_dir_all(a.join("x/y")).unwrap();
        std::fs::write(a.join("x/y/f.txt"), "data").unwrap();
        let kept = a.path().to_path_buf();
        drop(a);
        assert!(!kept.exists(), "dropping removes the whole tree");
        assert!(b.path().is_dir(), "other scratch dirs are untouched");
    }
}
