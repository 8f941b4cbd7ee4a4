//! `rlp dpo`: Direct Preference Optimization on preference JSONL.

use std::path::PathBuf;

use anyhow::Result;
use rlp::train::Existing;

use super::{LoraFlags, ResumeFlag, RunFlags, outdir};

/// `rlp dpo`: the TOML config (`DpoRunConfig`) and flags overriding it.
#[derive(clap::Args)]
pub(crate) struct DpoArgs {
    #[command(flatten)]
    pub(crate) run: RunFlags,
    /// Run directory.
    #[arg(long, default_value = "runs/dpo")]
    pub(crate) out: PathBuf,
    /// Preference JSONL to train on.
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Held-out preference JSONL, evaluated after training.
    #[arg(long)]
    pub(crate) eval: Option<PathBuf>,
    /// β.
    #[arg(long)]
    pub(crate) beta: Option<f64>,
    /// Peak learning rate.
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Epochs.
    #[arg(long)]
    pub(crate) epochs: Option<usize>,
    /// Save a resumable checkpoint-N every N steps (config: checkpoint_every; 0: never).
    #[arg(long)]
    pub(crate) checkpoint_every: Option<usize>,
    #[command(flatten)]
    pub(crate) resume: ResumeFlag,
    #[command(flatten)]
    pub(crate) lora: LoraFlags,
}

/// Runs `rlp dpo`.
pub(crate) fn run(a: DpoArgs) -> Result<()> {
    use rlp::runs::dpo::{DpoRunConfig, run_dpo};
    let overwrite = a.run.out_flag.overwrite;
    let mut c = a.run.resolve(DpoRunConfig::load, |c| {
        (&mut c.task, &mut c.policy, &mut c.seed, &mut c.backend)
    })?;
    if let Some(v) = a.data {
        c.data = Some(v);
    }
    if let Some(v) = a.eval {
        c.eval = Some(v);
    }
    if let Some(v) = a.beta {
        c.dpo.kl_beta = v;
    }
    if let Some(v) = a.lr {
        c.dpo.lr = v;
    }
    if let Some(v) = a.epochs {
        c.dpo.epochs = v;
    }
    if let Some(v) = a.checkpoint_every {
        c.checkpoint_every = v;
    }
    a.lora.apply(&mut c.lora, &mut c.grad_checkpointing);
    let resume = a.resume.resume;
    let existing = Existing::from_flags(overwrite, resume);
    let o = outdir::run_in(&a.out, existing, true, |_| run_dpo(&c, &a.out, resume))?;
    let t = &o.train;
    report!(
        "dpo: {} steps on {} pairs in {:.1} s; last epoch loss {:.4}, margin {:.3}, accuracy \
         {:.3}{}; policy in {}",
        t.steps,
        t.pairs,
        t.seconds,
        t.last_epoch_loss,
        t.last_epoch_margin,
        t.last_epoch_accuracy,
        o.eval
            .map(|e| format!(
                "; held-out margin {:.3}, accuracy {:.3}",
                e.stats.margin, e.stats.accuracy
            ))
            .unwrap_or_default(),
        a.out.join("policy").display()
    );
    Ok(())
}
