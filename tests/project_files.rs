//! Checks on the project's own files, so the repository stays self-contained and every crate
//! stays packageable:
//! - no shipped file cites a file the project does not ship (the design notes it was built
//!   from live outside the repository; the equations are in `docs/algorithms.md`);
//! - every relative link in the Markdown docs points at a file that exists;
//! - no crate compiles in a file from outside its own directory (`cargo package -p <crate>` would
//!   ship a crate that cannot build).

use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` whose extension is one of `exts`, skipping build output, run
/// directories and VCS metadata.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(name.as_ref(), "target" | ".git" | "runs" | "node_modules") {
                files(&path, exts, out);
            }
        } else if path
            .extension()
            .is_some_and(|e| exts.contains(&e.to_string_lossy().as_ref()))
        {
            out.push(path);
        }
    }
}

/// `path` with `.` and `..` folded away (without touching the file system).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn no_shipped_file_cites_a_file_outside_the_project() {
    // Spelled in pieces so that this file does not match itself.
    let cited = [
        format!("../{}", "shared"),
        format!("{}.md", "ALGORITHMS"),
        format!("{}.md", "ARCHITECTURE"),
        format!("{}.md", "ARTIFACTS"),
    ];
    let mut all = Vec::new();
    files(
        &root(),
        &["rs", "md", "toml", "sh", "py", "json", "txt", "yml", "yaml"],
        &mut all,
    );
    assert!(all.len() > 100, "only {} files found", all.len());
    let mut hits = Vec::new();
    for path in &all {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            for c in &cited {
                if line.contains(c.as_str()) {
                    hits.push(format!("{}:{}: {c}", path.display(), i + 1));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "cites outside the project:\n{}",
        hits.join("\n")
    );
}

/// The targets of the inline links `[text](target)` in `text`, without anchors, that are
/// relative paths (no scheme, no leading `#`).
fn relative_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            out.push(target.to_owned());
        }
        rest = &rest[end..];
    }
    out
}

#[test]
fn relative_links_in_the_docs_resolve() {
    assert_eq!(
        relative_links("[a](x.md) [b](https://e.org) [c](../y.png#top) [d](#here)"),
        ["x.md", "../y.png"]
    );
    let mut docs = Vec::new();
    files(&root(), &["md"], &mut docs);
    let (mut broken, mut checked) = (Vec::new(), 0);
    for path in &docs {
        let text = std::fs::read_to_string(path).unwrap();
        let dir = path.parent().unwrap();
        for target in relative_links(&text) {
            // Rust paths in intra-doc links (`[x](crate::y)`) are not files.
            if target.contains("::") || target.contains(' ') {
                continue;
            }
            checked += 1;
            if !dir.join(&target).exists() {
                broken.push(format!("{}: {target}", path.display()));
            }
        }
    }
    assert!(checked > 40, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_crate_compiles_in_only_its_own_files() {
    let mut sources = Vec::new();
    files(&root().join("crates"), &["rs"], &mut sources);
    assert!(sources.len() > 50);
    let mut outside = Vec::new();
    for path in &sources {
        let rel = path.strip_prefix(root().join("crates")).unwrap();
        let krate = root().join("crates").join(rel.components().next().unwrap());
        let text = std::fs::read_to_string(path).unwrap();
        for (i, line) in text.lines().enumerate() {
            for mac in ["include_str!(\"", "include_bytes!(\""] {
                if let Some(at) = line.find(mac) {
                    let arg = &line[at + mac.len()..];
                    let arg = &arg[..arg.find('"').unwrap_or(arg.len())];
                    let target = normalize(&path.parent().unwrap().join(arg));
                    if !target.starts_with(&krate) {
                        outside.push(format!("{}:{}: {arg}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(
        outside.is_empty(),
        "files compiled in from outside their crate:\n{}",
        outside.join("\n")
    );
}

/// Every file a dataset's `MANIFEST.json` lists (as `[{name, bytes, sha256}]` or
/// `{name: {bytes, sha256}}`) has the recorded size and sha256.
#[test]
fn shipped_datasets_match_their_manifests() {
    use sha2::{Digest, Sha256};
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("datasets"))
        .unwrap()
        .flatten()
    {
        let manifest = entry.path().join("MANIFEST.json");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let m: serde_json::Value = serde_json::from_str(&text).unwrap();
        let files: Vec<(String, &serde_json::Value)> = match &m["files"] {
            serde_json::Value::Array(list) => list
                .iter()
                .map(|f| (f["name"].as_str().unwrap().to_owned(), f))
                .collect(),
            serde_json::Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
            _ => Vec::new(),
        };
        for (name, f) in files {
            let bytes = std::fs::read(entry.path().join(&name))
                .unwrap_or_else(|e| panic!("{}: {name}: {e}", manifest.display()));
            assert_eq!(Some(bytes.len() as u64), f["bytes"].as_u64(), "{name}");
            let hex: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(Some(hex.as_str()), f["sha256"].as_str(), "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} files checked");
}
