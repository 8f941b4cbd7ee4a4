//! `rlp grpo`, `rlp rloo` and `rlp online-dpo`: policy optimisation on self-generated samples,
//! from a TOML config.

use std::path::PathBuf;

use anyhow::Result;
use rlp::runs::online::{OnlineMethod, OnlineRunConfig, run_online};
use rlp::train::Existing;

use super::{LoraFlags, ResumeFlag, RunFlags, outdir};

/// The flags of `rlp grpo`, `rlp rloo` and `rlp online-dpo`: the TOML config
/// (`OnlineRunConfig`, with the method's table `[grpo]`, `[rloo]` or `[online_dpo]`) and flags
/// overriding it.
#[derive(clap::Args)]
pub(crate) struct OnlineArgs {
    #[command(flatten)]
    pub(crate) run: RunFlags,
    /// Run directory (default: runs/<verb>).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// The reward: a reward-model directory, `gold`, or `ensemble` (with [ensemble] in the
    /// config).
    #[arg(long)]
    pub(crate) reward: Option<String>,
    /// Steps (generation batches).
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// The method's learning rate.
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Save a resumable checkpoint-N every N steps (config: checkpoint_every; 0: never).
    #[arg(long)]
    pub(crate) checkpoint_every: Option<usize>,
    #[command(flatten)]
    pub(crate) resume: ResumeFlag,
    #[command(flatten)]
    pub(crate) lora: LoraFlags,
}

/// Runs `rlp grpo`, `rlp rloo` or `rlp online-dpo`.
pub(crate) fn run(method: OnlineMethod, a: OnlineArgs) -> Result<()> {
    let overwrite = a.run.out_flag.overwrite;
    let mut c = a.run.resolve(OnlineRunConfig::load, |c| {
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
    a.lora.apply(&mut c.lora, &mut c.grad_checkpointing);
    if let Some(lr) = a.lr {
        match method {
            OnlineMethod::Grpo => c.grpo.get_or_insert_default().lr = lr,
            OnlineMethod::Rloo => c.rloo.get_or_insert_default().lr = lr,
            OnlineMethod::OnlineDpo => c.online_dpo.get_or_insert_default().lr = lr,
        }
    }
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("runs").join(method.verb()));
    let resume = a.resume.resume;
    let existing = Existing::from_flags(overwrite, resume);
    let o = outdir::run_in(&out, existing, true, |_| {
        run_online(method, &c, &out, resume)
    })?;
    let (first, last) = (&o.evals[0], &o.evals[o.evals.len() - 1]);
    report!(
        "{}: {} steps, {:.2} s each; gold {:.3} → {:.3} (± {:.3}), KL to the start {:.2} nats; \
         report in {}",
        method.verb(),
        o.steps,
        o.seconds_per_step,
        first.eval.gold.mean,
        last.eval.gold.mean,
        last.eval.gold.se,
        last.eval.kl_k1.mean,
        out.join("report.md").display()
    );
    Ok(())
}
