//! JSON Lines I/O. Errors name the file and the one-based line at fault; blank lines are
//! skipped; writes go to a temporary file that is renamed into place.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CoreError, Result};

/// The longest line [`read_jsonl`] and [`read_lines`] accept: 16 MiB. A longer one (say, from
/// `/dev/zero` or a binary file given by mistake) is an error naming the line, instead of a
/// buffer that grows until memory runs out.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Calls `f(line_number, line)` for every line of `path` (one-based numbers, the newline and a
/// trailing `\r` stripped), reading at most [`MAX_LINE_BYTES`] per line.
fn each_line(path: &Path, f: impl FnMut(usize, &str) -> Result<()>) -> Result<()> {
    let file = File::open(path).map_err(|e| CoreError::io(path, e))?;
    each_line_of(BufReader::new(file), path, f)
}

/// [`each_line`] over any reader; `path` names it in errors.
fn each_line_of(
    mut reader: impl BufRead,
    path: &Path,
    mut f: impl FnMut(usize, &str) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    let err = |line: usize, message: String| CoreError::Jsonl {
        path: path.to_path_buf(),
        line,
        message,
    };
    for number in 1.. {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| err(number, e.to_string()))?;
        if n == 0 {
            break;
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        } else if n > MAX_LINE_BYTES {
            return Err(err(
                number,
                format!("line longer than {MAX_LINE_BYTES} bytes (not a text file?)"),
            ));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let line =
            std::str::from_utf8(&buf).map_err(|e| err(number, format!("not UTF-8 text ({e})")))?;
        f(number, line)?;
    }
    Ok(())
}

/// The non-blank lines of a text file, trimmed, with the same line-length cap and errors as
/// [`read_jsonl`]. An empty file (no lines) is an error.
pub fn read_lines(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let mut out = Vec::new();
    each_line(path, |_, line| {
        let line = line.trim();
        if !line.is_empty() {
            out.push(line.to_string());
        }
        Ok(())
    })?;
    if out.is_empty() {
        return Err(CoreError::EmptyDataset {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Reads every record of a JSONL file. An empty file (no records) is an error, and so is a
/// line longer than [`MAX_LINE_BYTES`].
pub fn read_jsonl<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<T>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| CoreError::io(path, e))?;
    read_jsonl_from(BufReader::new(file), path)
}

/// [`read_jsonl`] over any reader (bytes in memory, a decompressor, a socket); `path` names the
/// source in errors.
pub fn read_jsonl_from<T: DeserializeOwned>(reader: impl BufRead, path: &Path) -> Result<Vec<T>> {
    let mut out = Vec::new();
    each_line_of(reader, path, |number, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let rec = serde_json::from_str(line).map_err(|e| CoreError::Jsonl {
            path: path.to_path_buf(),
            line: number,
            message: e.to_string(),
        })?;
        out.push(rec);
        Ok(())
    })?;
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

    /// A line past the cap (here: 16 MiB + 1 bytes of zeros, no newline, like `/dev/zero`) is
    /// an error naming the line, read in bounded memory; a line of exactly the cap is read;
    /// CRLF endings and non-UTF-8 bytes are handled.
    #[test]
    fn line_length_is_capped_and_named() {
        let d = tmpdir();
        let p = d.join("zeros.jsonl");
        let mut text = b"{\"prompt\":\"a\",\"response\":\"b\"}\r\n".to_vec();
        text.extend(std::iter::repeat_n(0u8, MAX_LINE_BYTES + 1));
        fs::write(&p, &text).unwrap();
        let err = read_jsonl::<PromptResponse>(&p).unwrap_err().to_string();
        assert!(
            err.contains("zeros.jsonl:2") && err.contains("longer than"),
            "{err}"
        );
        // Exactly the cap, then a newline: one line of spaces (blank), then a record.
        let p = d.join("edge.txt");
        let mut text = vec![b' '; MAX_LINE_BYTES];
        text.extend(b"\nlast line\r\n");
        fs::write(&p, &text).unwrap();
        assert_eq!(read_lines(&p).unwrap(), vec!["last line".to_string()]);
        let p = d.join("latin1.txt");
        fs::write(&p, b"ok\n\xff\xfe\n").unwrap();
        let err = read_lines(&p).unwrap_err().to_string();
        assert!(
            err.contains("latin1.txt:2") && err.contains("UTF-8"),
            "{err}"
        );
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::fuzz::cases(256)))]
        /// Mutation fuzzing of a valid preference file: truncation, bit flips, spliced copies of
        /// its own bytes and inserted `\0`, `\n`, `"`, `\\` and 0xFF bytes. Reading either succeeds
        /// or errors naming the source and a line; it never panics.
        #[test]
        fn mutated_jsonl_never_panics(
            cut in 0usize..512,
            flips in proptest::collection::vec((0usize..512, 0u8..8), 0..8),
            splice in proptest::option::of((0usize..512, 0usize..512, 0usize..64)),
            inserts in proptest::collection::vec((0usize..512, 0usize..6), 0..4),
        ) {
            let pair = crate::PreferencePair {
                prompt: "Q: 2 + 2?".into(),
                chosen: " 4\nAnswer: 4".into(),
                rejected: " 5 \u{e9}".into(),
                margin: Some(0.5),
            };
            let line = serde_json::to_string(&pair).unwrap();
            let mut b = format!("{line}\n\n{line}\r\n{line}").into_bytes();
            for (at, bit) in flips {
                let n = b.len();
                b[at % n] ^= 1 << bit;
            }
            if let Some((from, to, len)) = splice {
                let n = b.len();
                let piece: Vec<u8> = b[from % n..].iter().take(len).copied().collect();
                let at = to % n;
                b.splice(at..at, piece);
            }
            for (at, which) in inserts {
                let at = at % (b.len() + 1);
                b.insert(at, [0u8, b'\n', b'"', b'\\', 0xFF, b'{'][which]);
            }
            let keep = b.len() - cut % b.len().max(1);
            b.truncate(keep);
            let origin = Path::new("pairs.jsonl");
            if let Err(e) = read_jsonl_from::<crate::PreferencePair>(&b[..], origin) {
                proptest::prop_assert!(e.to_string().contains("pairs.jsonl"), "{e}");
            }
        }
    }
}
