//! `rlp bon`: best-of-n curves.

use std::path::PathBuf;

use anyhow::Result;
use rlp::train::Existing;

use super::{RunFlags, outdir};

/// `rlp bon`: the TOML config (`BonRunConfig`) and flags overriding it.
#[derive(clap::Args)]
pub(crate) struct BonArgs {
    #[command(flatten)]
    pub(crate) run: RunFlags,
    /// Run directory.
    #[arg(long, default_value = "runs/bon")]
    pub(crate) out: PathBuf,
    /// The proxy that picks the best: a reward-model directory, or `gold`.
    #[arg(long)]
    pub(crate) reward: Option<String>,
    /// Samples per prompt (the largest n).
    #[arg(long)]
    pub(crate) n: Option<usize>,
    /// Eval prompts used.
    #[arg(long)]
    pub(crate) prompts: Option<usize>,
}

/// Runs `rlp bon`.
pub(crate) fn run(a: BonArgs) -> Result<()> {
    use rlp::runs::bon::{BonRunConfig, run_bon};
    let overwrite = a.run.out_flag.overwrite;
    let mut c = a.run.resolve(BonRunConfig::load, |c| {
        (&mut c.task, &mut c.policy, &mut c.seed, &mut c.backend)
    })?;
    if let Some(v) = a.reward {
        c.reward = v;
    }
    if let Some(v) = a.n {
        c.n = v;
    }
    if let Some(v) = a.prompts {
        c.prompts = v;
    }
    let existing = Existing::from_flags(overwrite, false);
    let points = outdir::run_in(&a.out, existing, false, |_| run_bon(&c, &a.out))?;
    let (first, last) = (&points[0], &points[points.len() - 1]);
    println!(
        "bon: n = 1 → {}: gold {:.3} → {:.3} (± {:.3}), proxy {:.3} → {:.3}, KL {:.2}; report \
         in {}",
        last.n,
        first.gold,
        last.gold,
        last.gold_se,
        first.proxy,
        last.proxy,
        last.kl,
        a.out.join("report.md").display()
    );
    Ok(())
}
