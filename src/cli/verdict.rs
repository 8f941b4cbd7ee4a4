//! `rlp verdict`: the verdict across pipeline runs of the same seeds.

use std::path::PathBuf;

use anyhow::Result;
use rlp::pipeline::verdict::{LabelledRun, across_runs};

/// The arguments of `rlp verdict`.
#[derive(clap::Args)]
pub(crate) struct VerdictArgs {
    /// Pipeline run directories (each with results.jsonl and config.toml).
    #[arg(required = true, num_args = 2..)]
    pub(crate) runs: Vec<PathBuf>,
}

pub(crate) fn run(a: VerdictArgs) -> Result<()> {
    let runs = a
        .runs
        .iter()
        .map(|d| LabelledRun::load(d))
        .collect::<Result<Vec<_>>>()?;
    println!("{}", across_runs(&runs));
    Ok(())
}
