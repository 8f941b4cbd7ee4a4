//! Elastic Reset (Noukhovitch et al., NeurIPS 2023): reward against drift, sweeping the KL
//! coefficient, Elastic Reset against PPO. The paper's claim: resetting the online policy to
//! an EMA of itself (and the EMA to the initial model) reaches a better reward-vs-drift
//! trade-off than PPO at any KL coefficient.
//!
//!     # the proxy reward model of docs/tasks.md (tweet-sentiment) (runs/proxy, 0.718 agreement)
//!     cargo run --release --example elastic_reset -- runs/proxy [OUT] \
//!         [--betas 0.01,0.03,0.1] [--iterations 30] [--reset-every 10] [--seeds 0] [--reuse]
//!
//! Every arm is `rlp ppo` on tweet-sentiment with the main job's PPO settings (32 prompts per
//! iteration, 2 epochs of minibatch 16, lr 2e-4, value model from the reward model), evaluated
//! every 5 iterations on 128 eval prompts × 2 samples: gold score, KL to the initial policy and
//! drift (perplexity on 200 held-out human tweets). Elastic Reset adds `[elastic_reset]` with
//! η = 0.995, the KL penalty against the initial model, and no optimiser or value reset (the
//! paper's defaults). Writes one run directory per arm, `report.md` and the plots into OUT
//! (default `runs/elastic-reset`).

mod support;

use rlp::core::With;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rlp::core::BackendSpec;
use rlp::eval::{EvalSummary, LinePlot, MeanSe, Report, markdown_table};
use rlp::policy::ElasticResetConfig;
use rlp::runs::ppo::PpoRunConfig;
use support::{run_arm, study_ppo};

/// Elastic Reset against PPO at several KL coefficients on tweet-sentiment.
#[derive(clap::Parser)]
struct Args {
    /// The proxy reward-model directory PPO optimises.
    reward: String,
    /// Output directory.
    #[arg(default_value = "runs/elastic-reset")]
    out: PathBuf,
    /// KL coefficients to sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.03,0.1")]
    betas: Vec<f64>,
    /// PPO iterations per arm.
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    /// Elastic Reset's period in iterations.
    #[arg(long, default_value_t = 10)]
    reset_every: usize,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    seeds: Vec<u64>,
    /// Keep finished arms found in OUT.
    #[arg(long)]
    reuse: bool,
}

/// One arm's PPO config: the main job's PPO settings at KL coefficient `beta`, with or
/// without Elastic Reset.
fn arm(args: &Args, beta: f64, elastic: bool, seed: u64) -> PpoRunConfig {
    let mut config = study_ppo(
        args.reward.clone(),
        beta,
        args.iterations,
        5,
        seed,
        BackendSpec::default(),
    );
    config.elastic_reset =
        elastic.then(|| ElasticResetConfig::default().with(|c| c.reset_every = args.reset_every));
    config
}

/// One finished arm.
struct Arm {
    method: &'static str,
    beta: f64,
    seed: u64,
    evals: Vec<(usize, EvalSummary)>,
}

fn run_method(args: &Args, beta: f64, elastic: bool, seed: u64) -> Result<Arm> {
    let method = if elastic { "Elastic Reset" } else { "PPO" };
    let dir = args.out.join(format!(
        "{}-beta{beta}-seed{seed}",
        if elastic { "er" } else { "ppo" }
    ));
    eprintln!("== {method}, β = {beta}, seed {seed} → {}", dir.display());
    let run = run_arm(&arm(args, beta, elastic, seed), &dir, args.reuse)?;
    Ok(Arm {
        method,
        beta,
        seed,
        evals: run.evals,
    })
}

fn table_row(a: &Arm) -> Vec<String> {
    let (_, last) = a.evals.last().expect("every run evaluates at its end");
    let best = a
        .evals
        .iter()
        .max_by(|x, y| x.1.gold.mean.total_cmp(&y.1.gold.mean))
        .expect("non-empty");
    vec![
        a.method.to_string(),
        a.beta.to_string(),
        a.seed.to_string(),
        format!("{:.3} ± {:.3}", last.gold.mean, last.gold.se),
        format!("{:.3} (it {})", best.1.gold.mean, best.0),
        last.proxy.map_or("-".into(), |p| format!("{:.3}", p.mean)),
        format!("{:.2}", last.kl_k1.mean),
        last.drift_ppl.map_or("-".into(), |p| format!("{p:.1}")),
        format!("{:.3}", last.distinct_2),
    ]
}

fn write_outputs(arms: &[Arm], args: &Args, out: &Path) -> Result<()> {
    let rows: Vec<Vec<String>> = arms.iter().map(table_row).collect();
    let headers = [
        "method",
        "β",
        "seed",
        "final gold ± SE",
        "best gold",
        "final proxy",
        "final KL",
        "final drift ppl",
        "distinct-2",
    ];
    // Trajectories: gold against drift along each run (every evaluation).
    let trajectories: Vec<(String, Vec<(f64, f64)>)> = arms
        .iter()
        .map(|a| {
            (
                format!("{} β={} s{}", a.method, a.beta, a.seed),
                a.evals
                    .iter()
                    .filter_map(|(_, e)| e.drift_ppl.map(|p| (p, e.gold.mean)))
                    .collect(),
            )
        })
        .collect();
    let along = LinePlot::reward_vs_drift(
        "tweet-sentiment: gold vs drift, every evaluation",
        &trajectories,
    );
    along.save_svg(out.join("reward_vs_drift.svg"))?;
    along.save_png(out.join("reward_vs_drift.png"))?;
    // The sweep: each method's final (drift, gold) across β, averaged over seeds.
    let mut sweep = LinePlot::new(
        "tweet-sentiment: final gold vs drift across the KL sweep (seed means)",
        "drift (perplexity on held-out tweets)",
        "gold score",
    );
    let mut summary = Vec::new();
    for method in ["PPO", "Elastic Reset"] {
        let mut pts = Vec::new();
        for &beta in &args.betas {
            let finals: Vec<(f64, f64, f64)> = arms
                .iter()
                .filter(|a| a.method == method && a.beta == beta)
                .filter_map(final_point)
                .collect();
            let gold = MeanSe::of(&finals.iter().map(|f| f.1).collect::<Vec<_>>());
            let drift = MeanSe::of(&finals.iter().map(|f| f.0).collect::<Vec<_>>());
            let kl = MeanSe::of(&finals.iter().map(|f| f.2).collect::<Vec<_>>());
            if finals.is_empty() {
                continue;
            }
            pts.push((drift.mean, gold.mean));
            summary.push(vec![
                method.to_string(),
                beta.to_string(),
                finals.len().to_string(),
                format!("{:.3} ± {:.3}", gold.mean, gold.se),
                format!("{:.1} ± {:.1}", drift.mean, drift.se),
                format!("{:.2} ± {:.2}", kl.mean, kl.se),
            ]);
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        sweep = sweep.with_series(method, pts);
    }
    let frontier = equal_drift(arms, args);
    sweep.save_svg(out.join("sweep.svg"))?;
    sweep.save_png(out.join("sweep.png"))?;

    let mut report = Report::new("Elastic Reset vs PPO on tweet-sentiment");
    report.paragraph(format!(
        "Reward model `{}`; {} iterations of 32 prompts; Elastic Reset every {} iterations \
         (η = 0.995, KL against the initial model); β ∈ {:?}; seeds {:?}. Gold ± SE over the \
         final evaluation's 256 samples.",
        args.reward, args.iterations, args.reset_every, args.betas, args.seeds
    ));
    let summary_headers = [
        "method",
        "β",
        "seeds",
        "final gold (mean ± SE over seeds)",
        "final drift ppl",
        "final KL",
    ];
    report.table(&summary_headers, &summary)?;
    report.paragraph(
        "At equal drift: each Elastic Reset run's final gold minus PPO's gold at the same drift, \
         read off PPO's final (drift, gold) points of the same seed across β by linear \
         interpolation (runs outside PPO's drift range are left out).",
    );
    let frontier_headers = ["β", "seeds", "ER gold − PPO gold at ER's drift (mean ± SE)"];
    report.table(&frontier_headers, &frontier)?;
    report.paragraph("Every run:");
    report.table(&headers, &rows)?;
    report.image("final gold vs drift across the sweep", "sweep.png");
    report.image("gold vs drift along each run", "reward_vs_drift.png");
    report.write(out)?;
    for (h, body) in [
        (&summary_headers[..], &summary),
        (&frontier_headers[..], &frontier),
        (&headers[..], &rows),
    ] {
        println!("\n{}", markdown_table(h, body));
    }
    Ok(())
}

/// A run's final `(drift ppl, gold, KL)`, when it measured drift.
fn final_point(a: &Arm) -> Option<(f64, f64, f64)> {
    let (_, e) = a.evals.last()?;
    Some((e.drift_ppl?, e.gold.mean, e.kl_k1.mean))
}

/// `y` at `x` on the piecewise-linear curve through `pts` (sorted by `x`); `None` outside it.
fn interpolate(pts: &[(f64, f64)], x: f64) -> Option<f64> {
    pts.windows(2).find_map(|w| {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        (x0 <= x && x <= x1).then(|| {
            if x1 > x0 {
                y0 + (y1 - y0) * (x - x0) / (x1 - x0)
            } else {
                y0.max(y1)
            }
        })
    })
}

/// Per β: Elastic Reset's final gold minus PPO's gold at the same drift (PPO's final points of
/// the same seed across β, interpolated), mean ± SE over the seeds where it is defined.
fn equal_drift(arms: &[Arm], args: &Args) -> Vec<Vec<String>> {
    args.betas
        .iter()
        .map(|&beta| {
            let diffs: Vec<f64> = args
                .seeds
                .iter()
                .filter_map(|&seed| {
                    let mut ppo: Vec<(f64, f64)> = arms
                        .iter()
                        .filter(|a| a.method == "PPO" && a.seed == seed)
                        .filter_map(|a| final_point(a).map(|f| (f.0, f.1)))
                        .collect();
                    ppo.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let er = arms.iter().find(|a| {
                        a.method == "Elastic Reset" && a.seed == seed && a.beta == beta
                    })?;
                    let (drift, gold, _) = final_point(er)?;
                    Some(gold - interpolate(&ppo, drift)?)
                })
                .collect();
            let d = MeanSe::of(&diffs);
            vec![
                beta.to_string(),
                diffs.len().to_string(),
                if diffs.is_empty() {
                    "outside PPO's drift range".into()
                } else {
                    format!("{:+.3} ± {:.3}", d.mean, d.se)
                },
            ]
        })
        .collect()
}

fn main() -> Result<()> {
    let args: Args = clap::Parser::parse();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let start = std::time::Instant::now();
    let mut arms = Vec::new();
    for &seed in &args.seeds {
        for &beta in &args.betas {
            for elastic in [false, true] {
                arms.push(run_method(&args, beta, elastic, seed)?);
            }
        }
    }
    write_outputs(&arms, &args, &args.out)?;
    println!(
        "{} runs in {:.1} min; report: {}",
        arms.len(),
        start.elapsed().as_secs_f64() / 60.0,
        args.out.join("report.md").display()
    );
    Ok(())
}
