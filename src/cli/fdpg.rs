//! `rlp fdpg`: f-DPG toward the KL-regularised target of a reward, from a TOML config.

use std::path::PathBuf;

use anyhow::Result;
use rlp::runs::fdpg::{FdpgRunConfig, run_fdpg};
use rlp::train::Existing;

use super::{ResumeFlag, RunFlags, outdir};

/// `rlp fdpg`: the TOML config (`FdpgRunConfig`) and flags overriding it.
#[derive(clap::Args)]
pub(crate) struct FdpgArgs {
    #[command(flatten)]
    pub(crate) run: RunFlags,
    /// Run directory.
    #[arg(long, default_value = "runs/fdpg")]
    pub(crate) out: PathBuf,
    /// The target's reward: a reward-model directory, or `gold`.
    #[arg(long)]
    pub(crate) reward: Option<String>,
    /// f-DPG steps.
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Save a resumable checkpoint-N every N steps (config: checkpoint_every; 0: never).
    #[arg(long)]
    pub(crate) checkpoint_every: Option<usize>,
    #[command(flatten)]
    pub(crate) resume: ResumeFlag,
}

/// Runs `rlp fdpg`.
pub(crate) fn run(a: FdpgArgs) -> Result<()> {
    let overwrite = a.run.out_flag.overwrite;
    let mut c = a.run.resolve(FdpgRunConfig::load, |c| {
        (&mut c.task, &mut c.policy, &mut c.seed, &mut c.backend)
    })?;
    if let Some(v) = a.reward {
        c.reward = v;
    }
    if let Some(v) = a.steps {
        c.steps = v;
    }
    if let Some(v) = a.checkpoint_every {
        c.checkpoint_every = v;
    }
    let resume = a.resume.resume;
    let existing = Existing::from_flags(overwrite, resume);
    let o = outdir::run_in(&a.out, existing, true, |_| run_fdpg(&c, &a.out, resume))?;
    println!(
        "fdpg ({:?}, β = {}): {} steps; gold {:.3} → {:.3}, KL to the start {:.2} nats; policy in {}",
        c.fdpg.divergence,
        c.fdpg.kl_beta,
        o.steps,
        o.start.gold.mean,
        o.end.gold.mean,
        o.end.kl_k1.mean,
        a.out.join("policy").display()
    );
    Ok(())
}
