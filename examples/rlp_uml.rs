//! RLP-UML's ablation (Lang et al., NAACL 2024, Table 4: InfoMax 44.4, MVI 48.1, contrastive
//! 48.2, MIB 49.1 win-rate on AlpacaFarm), and MIB with DTS's terms against the code's collapse
//! (`objective = "mib-dts"` with the config's `[uml.dts]` weights, or their defaults), measured
//! where it acts: retrain the first reward
//! model `r` of a finished pipeline run with each multi-view loss, and measure how well each
//! retrained `r̂` ranks held-out samples of the first-round policy the way the gold scorer does.
//!
//!     cargo run --release                                  # the main job: writes runs/pipeline
//!     cargo run --release --example rlp_uml [RUN_DIR] [SEED]
//!
//! Views come from the first three quarters of the run's unlabelled prompts; agreement is
//! measured on every pair of samples of the last quarter (no gold label reaches training).

use std::path::PathBuf;

use anyhow::Result;
use rlp::core::{BackendSpec, MemoReward};
use rlp::ib::ViewPair;
use rlp::ib::{Objective, train_uml};
use rlp::pipeline::retrain::revisited_pairs;
use rlp::pipeline::rundir::{FinishedRun, agreement_on_samples};
use rlp::pipeline::stages::save_rm;
use rlp::reward::RewardModel;

/// RLP-UML's ablation on a finished pipeline run.
#[derive(clap::Parser)]
struct Args {
    /// The pipeline run directory (`cargo run --release` writes runs/pipeline).
    #[arg(default_value = "runs/pipeline")]
    dir: PathBuf,
    /// Which of its seeds.
    #[arg(default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let Args { dir, seed } = clap::Parser::parse();
    let backend = BackendSpec::default();
    let (plain, train) = (backend.device()?, backend.autodiff_device()?);
    let run = FinishedRun::open(&dir, seed, &plain)?;
    let gold = MemoReward::new(run.task.gold.as_ref());
    let cut = run.prompts.len() * 3 / 4;
    let views = ViewPair::disjoint(&run.prompts[..cut], &run.samples[..cut]);
    let d = revisited_pairs(&run.preferences, run.config.retrain_pairs, seed);
    let held = (&run.prompts[cut..], &run.samples[cut..]);
    println!(
        "RLP-UML ablation on {} (seed {seed}): {} pairs of D, {} view pairs; agreement on {} \
         held-out prompts × {} samples",
        run.config.task,
        d.len(),
        views.len(),
        held.0.len(),
        held.1[0].len()
    );
    let base = agreement_on_samples(&run.r, &gold, held.0, held.1)?;
    println!(
        "{:<34} {:>6.1} ± {:.1}%  ({} pairs)",
        "r (before retraining)",
        base.rate * 100.0,
        base.se * 100.0,
        base.pairs
    );
    let arms: [(&str, Objective, f64); 6] = [
        ("λ = 0 (Bradley–Terry on D only)", Objective::Mib, 0.0),
        ("InfoMax", Objective::Infomax, 0.5),
        ("MVI (I only)", Objective::Mvi, 0.5),
        ("contrastive (InfoNCE)", Objective::Contrastive, 0.5),
        ("MIB (RLP-UML)", Objective::Mib, 0.5),
        ("MIB + DTS terms", Objective::MibDts, 0.5),
    ];
    for (name, objective, lambda) in arms {
        let mut config = run.config.uml.clone();
        config.objective = objective;
        config.lambda = lambda;
        config.rm.seed = seed;
        let rm = RewardModel::load(&run.r_dir, &train)?;
        let (rm, report) = train_uml(rm, &run.tokenizer, &d, &views, &config, &mut |_| {})?;
        let dir = std::env::temp_dir().join(format!("rlp-uml-example-{}", std::process::id()));
        let r_hat = save_rm(&rm, &run.tokenizer, &dir, &plain, None)?;
        let a = agreement_on_samples(&r_hat, &gold, held.0, held.1)?;
        println!(
            "{name:<34} {:>6.1} ± {:.1}%  (I_JS {:.3}, SKL {:.2}, {:.0} s)",
            a.rate * 100.0,
            a.se * 100.0,
            report.mean_mi,
            report.mean_skl,
            report.seconds
        );
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
