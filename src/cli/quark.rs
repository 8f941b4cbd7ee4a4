//! `rlp quark`: Quark against a reward, from a TOML config.

use std::path::PathBuf;

use anyhow::Result;
use rlp::runs::quark::{QuarkRunConfig, run_quark};
use rlp::train::Existing;

use super::{ResumeFlag, RunFlags, outdir};

/// `rlp quark`: the TOML config (`QuarkRunConfig`) and flags overriding it.
#[derive(clap::Args)]
pub(crate) struct QuarkArgs {
    #[command(flatten)]
    pub(crate) run: RunFlags,
    /// Run directory.
    #[arg(long, default_value = "runs/quark")]
    pub(crate) out: PathBuf,
    /// The reward: a reward-model directory, or `gold`.
    #[arg(long)]
    pub(crate) reward: Option<String>,
    /// Phases.
    #[arg(long)]
    pub(crate) phases: Option<usize>,
    /// Save a resumable checkpoint-N every N phases (config: checkpoint_every; 0: never).
    #[arg(long)]
    pub(crate) checkpoint_every: Option<usize>,
    #[command(flatten)]
    pub(crate) resume: ResumeFlag,
}

/// Runs `rlp quark`.
pub(crate) fn run(a: QuarkArgs) -> Result<()> {
    let overwrite = a.run.out_flag.overwrite;
    let mut c = a.run.resolve(QuarkRunConfig::load, |c| {
        (&mut c.task, &mut c.policy, &mut c.seed, &mut c.backend)
    })?;
    if let Some(v) = a.reward {
        c.reward = v;
    }
    if let Some(v) = a.phases {
        c.phases = v;
    }
    if let Some(v) = a.checkpoint_every {
        c.checkpoint_every = v;
    }
    let resume = a.resume.resume;
    let existing = Existing::from_flags(overwrite, resume);
    let o = outdir::run_in(&a.out, existing, true, |_| run_quark(&c, &a.out, resume))?;
    println!(
        "quark (K = {}, β = {}, α = {}): {} phases; gold {:.3} ± {:.3} → {:.3} ± {:.3} (best reward \
         token); policy in {}",
        c.quark.num_quantiles,
        c.quark.kl_beta,
        c.quark.entropy_alpha,
        o.phases,
        o.start_gold.mean,
        o.start_gold.se,
        o.end_gold.mean,
        o.end_gold.se,
        a.out.join("policy").display()
    );
    Ok(())
}
