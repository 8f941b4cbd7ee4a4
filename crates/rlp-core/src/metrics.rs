//! An append-only JSONL metrics sink: one line per logged step with the step, the wall time
//! since the sink opened, and named scalars.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value};

use crate::error::{CoreError, Result};

/// Appends `{"step": …, "wall_time": …, name: value, …}` lines to a file, flushing each.
pub struct MetricsSink {
    path: PathBuf,
    out: BufWriter<File>,
    start: Instant,
}

impl MetricsSink {
    /// Opens (or creates) the file in append mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| CoreError::io(&path, e))?;
        Ok(Self {
            path,
            out: BufWriter::new(file),
            start: Instant::now(),
        })
    }

    /// The file this sink writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs one step. Non-finite values are written as `null` (JSON has no NaN).
    pub fn log(&mut self, step: u64, scalars: &[(&str, f64)]) -> Result<()> {
        let mut m = Map::new();
        m.insert("step".into(), Value::from(step));
        m.insert(
            "wall_time".into(),
            Value::from(self.start.elapsed().as_secs_f64()),
        );
        for (k, v) in scalars {
            let val = serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number);
            m.insert((*k).to_string(), val);
        }
        let line = Value::Object(m).to_string();
        writeln!(self.out, "{line}").map_err(|e| CoreError::io(&self.path, e))?;
        self.out.flush().map_err(|e| CoreError::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_with_step_and_time() {
        let d = crate::ScratchDir::new("metrics").unwrap();
        let p = d.join("m.jsonl");
        {
            let mut s = MetricsSink::open(&p).unwrap();
            s.log(1, &[("loss", 0.5), ("bad", f64::NAN)]).unwrap();
        }
        {
            let mut s = MetricsSink::open(&p).unwrap();
            s.log(2, &[("loss", 0.25)]).unwrap();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["step"], 1);
        assert_eq!(lines[0]["loss"], 0.5);
        assert!(lines[0]["bad"].is_null());
        assert!(lines[1]["wall_time"].as_f64().unwrap() >= 0.0);
    }
}
