//! The runs the `rlp` binary drives, callable from code and tests.

pub mod classifier;
pub mod detox_data;
pub mod generate;
pub mod ppo;
pub mod reward;
pub mod sft;

use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rlp_core::MetricsSink;
use rlp_reward::StepInfo;

/// The progress bar every run shows: bar, position, elapsed and ETA, and a message.
pub(crate) fn progress_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .expect("valid template"),
    );
    bar
}

/// A run directory's per-step record of a trainer that reports [`StepInfo`]: a progress bar
/// showing loss and accuracy, and `metrics.jsonl` (loss, accuracy, learning rate per step).
pub(crate) struct StepLog {
    bar: ProgressBar,
    metrics: MetricsSink,
    error: Option<rlp_core::CoreError>,
}

impl StepLog {
    /// Creates `out`, writes `config` to `out/config_file`, and starts a fresh `metrics.jsonl`.
    pub(crate) fn start(
        out: &Path,
        config_file: &str,
        config: &impl serde::Serialize,
    ) -> Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        std::fs::write(out.join(config_file), serde_json::to_string_pretty(config)?)?;
        let path = out.join("metrics.jsonl");
        let _ = std::fs::remove_file(&path);
        Ok(Self {
            bar: progress_bar(0),
            metrics: MetricsSink::open(&path)?,
            error: None,
        })
    }

    /// Records one step (a failed metrics write is kept and returned by [`Self::finish`]).
    pub(crate) fn step(&mut self, s: &StepInfo) {
        self.bar.set_length(s.total as u64);
        self.bar.set_position(s.step as u64);
        self.bar
            .set_message(format!("loss {:.4}  acc {:.2}", s.loss, s.accuracy));
        if let Err(e) = self.metrics.log(
            s.step as u64,
            &[("loss", s.loss), ("accuracy", s.accuracy), ("lr", s.lr)],
        ) {
            self.error.get_or_insert(e);
        }
    }

    /// Clears the bar; the first metrics error, if any.
    pub(crate) fn finish(self) -> Result<()> {
        self.bar.finish_and_clear();
        match self.error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}
