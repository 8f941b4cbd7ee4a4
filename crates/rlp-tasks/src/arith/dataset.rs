//! The shipped files of the `arith` task (`datasets/arith`) and their MANIFEST.
//!
//! One JSON object per line, in generation order:
//! - `prompts_{train,dev,eval}.jsonl`: `{"prompt": …, "answer": N}`;
//! - `sft.jsonl`: `{"prompt": …, "response": …}`, the worked solutions (`rlp sft --data` reads
//!   this format);
//! - `drift.jsonl`: `{"text": …}`, prompt and worked solution together.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{NAME, Problem, SEED, splits};
use crate::error::TaskError;

/// One file of the dataset as the MANIFEST records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetFile {
    /// File name inside the dataset directory.
    pub name: String,
    /// Records (lines).
    pub rows: usize,
    /// Size in bytes.
    pub bytes: usize,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
}

/// `MANIFEST.json`: how the dataset was made and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// `"arith"`.
    pub dataset: String,
    /// The command that regenerates it.
    pub command: String,
    /// The generator's seed.
    pub seed: u64,
    /// Where the problems come from.
    pub generator: String,
    /// The files, in writing order.
    pub files: Vec<DatasetFile>,
}

#[derive(Serialize)]
struct PromptLine<'a> {
    prompt: &'a str,
    answer: i64,
}

#[derive(Serialize)]
struct SftLine<'a> {
    prompt: &'a str,
    response: &'a str,
}

#[derive(Serialize)]
struct TextLine<'a> {
    text: &'a str,
}

fn line(value: &impl Serialize) -> String {
    // Serialising these plain structs of strings and integers cannot fail.
    serde_json::to_string(value).expect("a JSON line") + "\n"
}

/// The file name and JSONL text of split `name` (`train`, `dev`, `eval`, `sft` or `drift`).
pub fn render_split(name: &str, problems: &[Problem]) -> (String, String) {
    let text: String = match name {
        "sft" => problems
            .iter()
            .map(|p| {
                line(&SftLine {
                    prompt: &p.prompt,
                    response: &p.solution,
                })
            })
            .collect(),
        "drift" => problems
            .iter()
            .map(|p| {
                line(&TextLine {
                    text: &format!("{}{}", p.prompt, p.solution),
                })
            })
            .collect(),
        _ => problems
            .iter()
            .map(|p| {
                line(&PromptLine {
                    prompt: &p.prompt,
                    answer: p.answer,
                })
            })
            .collect(),
    };
    let file = match name {
        "sft" | "drift" => format!("{name}.jsonl"),
        _ => format!("prompts_{name}.jsonl"),
    };
    (file, text)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file of the dataset with its contents, `MANIFEST.json` last.
pub fn dataset_files() -> (Manifest, Vec<(String, String)>) {
    let s = splits();
    let mut files: Vec<(String, String)> = s
        .named()
        .iter()
        .map(|(name, ps)| render_split(name, ps))
        .collect();
    let manifest = Manifest {
        dataset: NAME.into(),
        command: "rlp data arith --out datasets/arith".into(),
        seed: SEED,
        generator: "rlp_tasks::arith::splits (templated word problems, 1-3 operations, \
                    counts 0-99; splits disjoint by prompt text)"
            .into(),
        files: files
            .iter()
            .map(|(name, text)| DatasetFile {
                name: name.clone(),
                rows: text.lines().count(),
                bytes: text.len(),
                sha256: sha256_hex(text.as_bytes()),
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&manifest).expect("a JSON manifest") + "\n";
    files.push(("MANIFEST.json".into(), json));
    (manifest, files)
}

/// Writes the dataset to `out` (created if missing). A file that already exists with other
/// contents is an error naming it unless `overwrite`; files with the same contents are left
/// as they are. Each file is written under a temporary name and renamed into place.
pub fn write_dataset(out: &Path, overwrite: bool) -> Result<Manifest, TaskError> {
    let io = |path: &Path, e: std::io::Error| TaskError::Asset {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let (manifest, files) = dataset_files();
    if !overwrite {
        for (name, text) in &files {
            let path = out.join(name);
            if path.exists() && std::fs::read(&path).map_err(|e| io(&path, e))? != text.as_bytes() {
                return Err(TaskError::Asset {
                    path,
                    message: "exists with other contents; pass --overwrite to replace it".into(),
                });
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    for (name, text) in &files {
        let path = out.join(name);
        if std::fs::read(&path).ok().as_deref() == Some(text.as_bytes()) {
            continue;
        }
        let tmp = out.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    }
    Ok(manifest)
}
