//! `rlp compare`: plot several `rlp ppo` runs together.

use std::path::PathBuf;

use anyhow::Result;

/// The arguments of `rlp compare`.
#[derive(clap::Args)]
pub(crate) struct CompareArgs {
    /// Run directories (each with config.toml and eval.jsonl).
    #[arg(required = true)]
    pub(crate) runs: Vec<PathBuf>,
    /// Output path without extension (`.svg`/`.png` and `-drift.svg`/`-drift.png` are
    /// written).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// A legend label per run (default: its KL control, e.g. `β = 0.05`).
    #[arg(long = "label")]
    pub(crate) labels: Vec<String>,
}

/// Runs `rlp compare`.
pub(crate) fn run(a: CompareArgs) -> Result<()> {
    let CompareArgs { runs, out, labels } = a;
    anyhow::ensure!(
        labels.is_empty() || labels.len() == runs.len(),
        "{} --label values for {} runs (give one per run, or none)",
        labels.len(),
        runs.len()
    );
    let runs: Vec<(PathBuf, Option<String>)> = runs
        .into_iter()
        .enumerate()
        .map(|(i, r)| (r, labels.get(i).cloned()))
        .collect();
    rlp::runs::ppo::compare_runs(&runs, &out)?;
    println!(
        "wrote {}.{{svg,png}} and {}-drift.{{svg,png}}",
        out.display(),
        out.display()
    );
    Ok(())
}
