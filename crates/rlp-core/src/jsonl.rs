//! JSON Lines I/O. Errors name the file and the one-based line at fault; blank lines are
//! skipped; writes go to a temporary file that is renamed into place.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CoreError, Result};

/// Reads every record of a JSONL file. An empty file (no records) is an error.
pub fn read_jsonl<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<T>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| CoreError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| CoreError::Jsonl {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec = serde_json::from_str(&line).map_err(|e| CoreError::Jsonl {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(rec);
    }
    if out.is_empty() {
        return Err(CoreError::EmptyDataset {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Writes records as JSONL, atomically (temporary file, then rename).
pub fn write_jsonl<T: Serialize>(path: impl AsRef<Path>, records: &[T]) -> Result<()> {
    let path = path.as_ref();
    let tmp = path.with_extension("jsonl.tmp");
    {
        let file = File::create(&tmp).map_err(|e| CoreError::io(&tmp, e))?;
        let mut w = BufWriter::new(file);
        for r in records {
            serde_json::to_writer(&mut w, r).map_err(|e| CoreError::io(&tmp, e.into()))?;
            w.write_all(b"\n").map_err(|e| CoreError::io(&tmp, e))?;
        }
        w.flush().map_err(|e| CoreError::io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| CoreError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::PromptResponse;

    fn tmpdir() -> crate::ScratchDir {
        crate::ScratchDir::new("core-jsonl").unwrap()
    }

    #[test]
    fn round_trip() {
        let d = tmpdir();
        let p = d.join("rt.jsonl");
        let recs = vec![
            PromptResponse {
                prompt: "a".into(),
                response: "b".into(),
            },
            PromptResponse {
                prompt: "c\n\"".into(),
                response: "ü".into(),
            },
        ];
        write_jsonl(&p, &recs).unwrap();
        assert_eq!(read_jsonl::<PromptResponse>(&p).unwrap(), recs);
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let d = tmpdir();
        let p = d.join("bad.jsonl");
        fs::write(
            &p,
            "{\"prompt\":\"a\",\"response\":\"b\"}\n\n{\"prompt\":\"a\"}\n",
        )
        .unwrap();
        let err = read_jsonl::<PromptResponse>(&p).unwrap_err().to_string();
        assert!(
            err.contains("bad.jsonl:3") && err.contains("response"),
            "{err}"
        );
    }

    #[test]
    fn empty_and_missing_files_are_errors() {
        let d = tmpdir();
        let p = d.join("empty.jsonl");
        fs::write(&p, "\n  \n").unwrap();
        assert!(
            read_jsonl::<PromptResponse>(&p)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let d = tmpdir();
        let err = read_jsonl::<PromptResponse>(d.join("nope.jsonl")).unwrap_err();
        assert!(err.to_string().contains("nope.jsonl"));
    }
}
