//! `rlp eval`: a policy against its task's base policy.

use std::path::PathBuf;

use anyhow::Result;
use rlp::train::Existing;

use super::{RunFlags, outdir};

/// `rlp eval`: the TOML config (`EvalRunConfig`) and flags overriding it.
#[derive(clap::Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    pub(crate) run: RunFlags,
    /// Run directory.
    #[arg(long, default_value = "runs/eval")]
    pub(crate) out: PathBuf,
    /// Proxy reward-model directory, or `gold` for none.
    #[arg(long)]
    pub(crate) reward: Option<String>,
    /// Eval prompts used.
    #[arg(long)]
    pub(crate) prompts: Option<usize>,
    /// The reference for KL, drift and win-rates: a checkpoint sharing the policy's tokenizer
    /// (default: the task's base policy).
    #[arg(long)]
    pub(crate) reference: Option<PathBuf>,
}

/// Runs `rlp eval`.
pub(crate) fn run(a: EvalArgs) -> Result<()> {
    use rlp::runs::eval::{EvalRunConfig, run_eval};
    let overwrite = a.run.out_flag.overwrite;
    let mut c = a.run.resolve(EvalRunConfig::load, |c| {
        (&mut c.task, &mut c.policy, &mut c.seed, &mut c.backend)
    })?;
    if let Some(v) = a.reward {
        c.reward = v;
    }
    if let Some(v) = a.prompts {
        c.eval_prompts = v;
    }
    if let Some(v) = a.reference {
        c.reference = Some(v);
    }
    let existing = Existing::from_flags(overwrite, false);
    let o = outdir::run_in(&a.out, existing, false, |_| run_eval(&c, &a.out))?;
    let s = &o.summary;
    let wins = match (&o.reference_gold, &o.win_rate_gold, &o.win_rate_annotators) {
        (Some(r), Some(g), Some(p)) => format!(
            "  reference gold {:.3}  win-rate {:.3} ± {:.3} (gold), {:.3} ± {:.3} (annotators)",
            r.mean, g.rate, g.se, p.rate, p.se
        ),
        _ => String::new(),
    };
    println!(
        "eval: gold {:.3} ± {:.3}{}  KL {:.2}  drift ppl {}{wins}; report in {}",
        s.gold.mean,
        s.gold.se,
        s.proxy
            .map(|p| format!("  proxy {:.3}", p.mean))
            .unwrap_or_default(),
        s.kl_k1.mean,
        s.drift_ppl.map_or("-".into(), |p| format!("{p:.1}")),
        a.out.join("report.md").display()
    );
    Ok(())
}
