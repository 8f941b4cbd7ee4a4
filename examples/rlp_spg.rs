//! RLP-SPG's pair rule and its ablations (Lang et al., NAACL 2024, Table 5: no threshold
//! (γ = 0) 48.7, SPG 50.2 win-rate on AlpacaFarm) measured where they act: from a finished
//! pipeline run's first-round policy samples, build the synthetic pairs `D̂` under several
//! clusterers and thresholds, retrain `r` on `D ∪ D̂`, and measure how well each retrained `r̂`
//! ranks held-out policy samples the way the gold scorer does.
//!
//!     cargo run --release                                  # the main job: writes runs/pipeline
//!     cargo run --release --example rlp_spg [RUN_DIR] [SEED] [--minilm]
//!
//! `--minilm` adds the MiniLM sentence-embedding clusterer (fetched into the cache once).

use std::path::PathBuf;

use anyhow::Result;
use rlp::core::{BackendSpec, MemoReward};
use rlp::pipeline::config::ClustererSpec;
use rlp::pipeline::retrain::revisited_pairs;
use rlp::pipeline::rundir::{FinishedRun, agreement_on_samples};
use rlp::pipeline::stages::save_rm;
use rlp::reward::{RewardModel, train_reward_model};
use rlp::spg::build_pairs;

/// RLP-SPG's ablation on a finished pipeline run.
#[derive(clap::Parser)]
struct Args {
    /// The pipeline run directory (`cargo run --release` writes runs/pipeline).
    #[arg(default_value = "runs/pipeline")]
    dir: PathBuf,
    /// Which of its seeds.
    #[arg(default_value_t = 0)]
    seed: u64,
    /// Add the MiniLM sentence-embedding clusterer (fetched into the cache once).
    #[arg(long)]
    minilm: bool,
}

fn main() -> Result<()> {
    let Args { dir, seed, minilm } = clap::Parser::parse();
    let backend = BackendSpec::default();
    let (plain, train) = (backend.device()?, backend.autodiff_device()?);
    let run = FinishedRun::open(&dir, seed, &plain)?;
    let gold = MemoReward::new(run.task.gold.as_ref());
    let cut = run.prompts.len() * 3 / 4;
    let (prompts, samples) = (&run.prompts[..cut], &run.samples[..cut]);
    let held = (&run.prompts[cut..], &run.samples[cut..]);
    let d = revisited_pairs(&run.preferences, run.config.retrain_pairs, seed);
    println!(
        "RLP-SPG ablation on {} (seed {seed}): D̂ from {} prompts × {} samples; agreement on {} \
         held-out prompts",
        run.config.task,
        prompts.len(),
        samples[0].len(),
        held.0.len()
    );
    let base = agreement_on_samples(&run.r, &gold, held.0, held.1)?;
    println!(
        "{:<38} {:>6.1} ± {:.1}%  ({} pairs)",
        "r (before retraining)",
        base.rate * 100.0,
        base.se * 100.0,
        base.pairs
    );
    let mut arms: Vec<(String, ClustererSpec, f64)> = vec![
        ("no D̂ (D only)".into(), ClustererSpec::Normalized, f64::NAN),
        (
            "lexical τ = 0.5, γ = 0.5 (default)".into(),
            ClustererSpec::Lexical { threshold: 0.5 },
            0.5,
        ),
        (
            "lexical τ = 0.3, γ = 0.5".into(),
            ClustererSpec::Lexical { threshold: 0.3 },
            0.5,
        ),
        (
            "lexical τ = 0.5, γ = 0 (no threshold)".into(),
            ClustererSpec::Lexical { threshold: 0.5 },
            0.0,
        ),
        ("exact text, γ = 0.5".into(), ClustererSpec::Normalized, 0.5),
    ];
    if minilm {
        arms.push((
            "MiniLM τ = 0.75, γ = 0.5".into(),
            ClustererSpec::Minilm { threshold: 0.75 },
            0.5,
        ));
    }
    for (name, spec, gamma) in arms {
        let mut pairs = d.clone();
        let mut kept = String::from("–");
        if !gamma.is_nan() {
            let mut clusterer = spec.build(&run.sft, &run.tokenizer, &plain)?;
            let mut config = run.config.spg.clone();
            config.min_confidence = gamma;
            config.seed = seed;
            let (synthetic, report) =
                build_pairs(prompts, samples, clusterer.as_mut(), &run.r, &config)?;
            kept = format!("{}/{}", report.kept, report.prompts);
            pairs.extend(synthetic);
        }
        let mut train_config = run.config.spg_train.clone();
        train_config.seed = seed;
        let rm = RewardModel::load(&run.r_dir, &train)?;
        let (rm, _) = train_reward_model(rm, &run.tokenizer, &pairs, &train_config, &mut |_| {})?;
        let tmp = std::env::temp_dir().join(format!("rlp-spg-example-{}", std::process::id()));
        let r_hat = save_rm(&rm, &run.tokenizer, &tmp, &plain, None)?;
        let a = agreement_on_samples(&r_hat, &gold, held.0, held.1)?;
        println!(
            "{name:<38} {:>6.1} ± {:.1}%  (prompts kept {kept})",
            a.rate * 100.0,
            a.se * 100.0
        );
        let _ = std::fs::remove_dir_all(tmp);
    }
    Ok(())
}
