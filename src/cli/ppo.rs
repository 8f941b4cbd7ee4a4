//! `rlp ppo`: PPO from a TOML config, with evaluation, plots and a report.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use rlp::train::Existing;

use super::{BackendFlag, LoraFlags, OverwriteFlag, SetFlag, apply_sets, outdir};

/// `rlp ppo`: every field lives in the TOML config; these flags override it.
#[derive(clap::Args)]
pub(crate) struct PpoArgs {
    /// TOML config (`PpoRunConfig`: task, policy, reward, iterations, [ppo], [eval]; every
    /// field optional, with the published defaults of each method).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) set: SetFlag,
    /// Run directory.
    #[arg(long, default_value = "runs/ppo")]
    pub(crate) out: PathBuf,
    /// Task (tweet-sentiment, tweet-detox, arith or synthetic).
    #[arg(long)]
    pub(crate) task: Option<String>,
    /// Reward-model directory, or `gold`.
    #[arg(long)]
    pub(crate) reward: Option<String>,
    /// Policy checkpoint directory (default: the task's base policy).
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    /// PPO iterations.
    #[arg(long)]
    pub(crate) iterations: Option<usize>,
    /// A fixed KL coefficient β (replaces the config's controller).
    #[arg(long)]
    pub(crate) beta: Option<f64>,
    /// Peak learning rate.
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Seed.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
    /// Continue the run in --out from its last `checkpoint-N/` (see `checkpoint_every`).
    #[arg(long, conflicts_with = "overwrite")]
    pub(crate) resume: bool,
    #[command(flatten)]
    pub(crate) out_flag: OverwriteFlag,
    #[command(flatten)]
    pub(crate) lora: LoraFlags,
}

/// Runs `rlp ppo`.
pub(crate) fn run(a: PpoArgs) -> Result<()> {
    use rlp::policy::ppo::KlControl;
    use rlp::runs::ppo::{PpoRunConfig, run_ppo};
    let mut c = match &a.config {
        Some(path) => PpoRunConfig::load(path)?,
        None => PpoRunConfig::default(),
    };
    c = apply_sets(c, &a.set.set)?;
    if let Some(v) = a.task {
        c.task = v;
    }
    if let Some(v) = a.reward {
        c.reward = v;
    }
    if let Some(v) = a.policy {
        c.policy = Some(v);
    }
    if let Some(v) = a.iterations {
        c.iterations = v;
    }
    if let Some(beta) = a.beta {
        c.ppo.kl = KlControl::Fixed { beta };
    }
    if let Some(v) = a.lr {
        c.ppo.lr = v;
    }
    if let Some(v) = a.seed {
        c.seed = v;
        c.ppo.seed = v;
    }
    a.backend.apply(&mut c.backend);
    a.lora.apply(&mut c.lora, &mut c.grad_checkpointing);
    let t = Instant::now();
    let existing = Existing::from_flags(a.out_flag.overwrite, a.resume);
    let r = outdir::run_in(&a.out, existing, true, |_| run_ppo(&c, &a.out, a.resume))?;
    let (first, last) = (&r.evals[0].1, &r.evals[r.evals.len() - 1].1);
    report!(
        "ppo: {} iterations in {:.1} min; gold {:.3} → {:.3} (± {:.3}), KL {:.2}; report in {}",
        c.iterations,
        t.elapsed().as_secs_f64() / 60.0,
        first.gold.mean,
        last.gold.mean,
        last.gold.se,
        last.kl_k1.mean,
        r.out.join("report.md").display()
    );
    if let Some(w) = &r.win_rates {
        report!(
            "ppo: win-rate over the starting policy {:.3} ± {:.3} (gold judge), {:.3} ± {:.3} (annotator pool)",
            w.gold.rate,
            w.gold.se,
            w.annotators.rate,
            w.annotators.se
        );
    }
    Ok(())
}
