//! The runs the `rlp` binary drives, callable from code and tests.

pub mod classifier;
pub mod generate;
pub mod reward;
pub mod sft;

use indicatif::{ProgressBar, ProgressStyle};

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
