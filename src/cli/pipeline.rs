//! `rlp pipeline` (and `rlp` alone): RLP's Algorithm 1 with its baselines over several seeds.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use rlp::tasks::EvalSplit;

use super::{BackendFlag, OverwriteFlag, SetFlag, apply_sets, out_dir, outdir};

/// `rlp pipeline`: every field lives in the TOML config (default: the main job, the first three
/// seeds of the embedded `configs/pipeline-arith.toml`); these flags override it.
#[derive(clap::Args, Default)]
pub(crate) struct PipelineArgs {
    /// TOML config (`PipelineConfig`); default: the main job, the first three seeds of the
    /// embedded `configs/pipeline-arith.toml` (tweet-sentiment: `--config
    /// configs/pipeline-tweet-sentiment.toml`).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) set: SetFlag,
    /// Run directory [default: runs/pipeline, or runs/pipeline-2, -3, … when that holds a
    /// run].
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out_flag: OverwriteFlag,
    /// Seeds (comma-separated), e.g. `--seeds 0,1,2`.
    #[arg(long, value_delimiter = ',')]
    pub(crate) seeds: Option<Vec<u64>>,
    /// PPO iterations per round.
    #[arg(long)]
    pub(crate) iterations: Option<usize>,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
    /// Held-out prompts to judge on: `eval` (reported results) or `dev` (development runs).
    #[arg(long, value_parser = ["eval", "dev"])]
    pub(crate) eval_split: Option<String>,
}

/// Runs `rlp pipeline`.
pub(crate) fn run(a: PipelineArgs) -> Result<()> {
    use rlp::pipeline::{PipelineConfig, run_pipeline};
    let mut c = match &a.config {
        Some(path) => PipelineConfig::load(path)?,
        None => PipelineConfig::main_job()?,
    };
    c = apply_sets(c, &a.set.set)?;
    if let Some(v) = a.seeds {
        c.seeds = v;
    }
    if let Some(v) = a.iterations {
        c.iterations = v;
    }
    a.backend.apply(&mut c.backend);
    if let Some(v) = a.eval_split {
        c.eval.split = if v == "dev" {
            EvalSplit::Dev
        } else {
            EvalSplit::Eval
        };
    }
    let t = Instant::now();
    println!(
        "rlp pipeline: RLP (Lang et al., NAACL 2024) and its baselines on {}, seeds {:?} ({})",
        c.task, c.seeds, c.backend
    );
    let (out, existing) = out_dir(a.out, "runs/pipeline", a.out_flag);
    let r = outdir::run_in(&out, existing, false, |_| run_pipeline(&c, &out))?;
    println!("\n{}", r.table);
    println!(
        "Reward-model agreement with gold on policy samples, before (r) and after (r̂) retraining:\n"
    );
    println!("{}", r.agreement_table);
    if let Some(curve) = &r.pi1_curve {
        println!("π₁ through PPO:\n\n{curve}");
    }
    println!("What the retraining had to work with:\n\n{}\n", r.mechanism);
    println!("{}\n", r.verdict);
    println!(
        "{:.1} min in all; report in {}",
        t.elapsed().as_secs_f64() / 60.0,
        r.out.join("report.md").display()
    );
    Ok(())
}
