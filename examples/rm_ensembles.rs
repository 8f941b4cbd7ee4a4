//! Reward-model ensembles against overoptimisation (Coste, Anwar, Kirk, Krueger, ICLR 2024) on
//! `tweet-sentiment`: `k` proxy reward models differing only by seed, trained on gold-labelled
//! pairs with 25% label noise, combined by the mean, worst-case optimisation (WCO, `min_i R_i`)
//! or uncertainty-weighted optimisation (UWO, `mean − λ·Var`), and optimised against by
//! best-of-n and by PPO, beside a single proxy. The paper's claims: the conservative objectives
//! (WCO, UWO) practically eliminate overoptimisation in best-of-n and reduce it in PPO.
//!
//! The pairs are those of docs/tasks.md (tweet-sentiment); see
//! `examples/overoptimization.rs` for the commands that make `train.jsonl` and `test.jsonl`:
//!
//!     cargo build --release --example rm_ensembles
//!     target/release/examples/rm_ensembles --train train.jsonl --eval test.jsonl \
//!         [--out runs/rm-ensembles] [--k 5] [--train-pairs 2000] [--betas 0,0.01] [--seed 0]
//!
//! What it does, all seeded by `--seed`:
//! 1. **Members.** `k` reward models from the base policy (`models/tweet-sentiment/base`), each
//!    trained by the noisy-proxy protocol of docs/tasks.md (1 epoch, lr 1e-3, 64 tokens, keep-end) on
//!    the same pairs (the first `--train-pairs` of them, or all) with seeds `seed … seed+k−1`
//!    (head initialisation and data order: the only difference between members), then
//!    normalised on the base policy's samples (both responses of the first 500 training pairs:
//!    mean 0, SD 1), so that UWO's `λ·Var` means the same for every member. Each member's and
//!    each objective's held-out agreement with gold is reported.
//! 2. **Best-of-n.** `--bon-n` samples per prompt on the first `--bon-prompts` eval prompts from
//!    the base policy, scored once by gold and every member; each objective (single = member
//!    0, mean, WCO, UWO with λ = `--uwo-bon`, 0.5 in the paper) ranks them, and the unbiased
//!    estimator gives the gold gain of its best of `n` over one sample for `n = 1, 2, 4, …, N`
//!    against best-of-n's KL `log n − (n−1)/n`.
//! 3. **PPO.** `rlp ppo` against each objective (UWO with λ = `--uwo-ppo`, 0.1 in the paper)
//!    for each KL coefficient of `--betas`: the main job's PPO settings (32 prompts per
//!    iteration, 2 epochs of minibatch 16, lr 2e-4, value model from member 0), evaluated every
//!    `--eval-every` iterations on `--eval-prompts` eval prompts × 2 samples (gold ± SE, the
//!    optimised objective, KL to the base, drift).
//! 4. `results.md` (also printed), `results.json`, and the plots `bon.{svg,png}` and
//!    `ppo-beta{β}.{svg,png}` (gold against KL, one line per objective).
//!
//! `--reuse` keeps finished steps found in `--out` (members, the best-of-n scores, finished PPO
//! runs) instead of recomputing them.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use rlp::core::PreferencePair;
use rlp::core::jsonl::read_jsonl;
use rlp::eval::{BonCurvePoint, candidate_counts, mean_bon_curve};
use rlp::eval::{EvalSummary, LinePlot, MeanSe, best_of_n_gold};
use rlp::reward::{Aggregation, LearnedReward};
use rlp::reward::{NormSet, normalize_saved};
use rlp::runs::bon::ScoredSamples;
use rlp::runs::ppo::EnsembleSpec;
use rlp::runs::reward::{RewardTrainConfig, train};
use rlp::tasks::tweet_sentiment;
use serde::{Deserialize, Serialize};
use support::{ArmRun, StudyArgs, cached, cached_base_policy_samples, run_arm, study_ppo};

/// The task of the study.
const TASK: &str = tweet_sentiment::NAME;
/// Training pairs whose responses (the base policy's samples) normalise every member.
const NORM_PAIRS: usize = 500;

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(about = "Coste et al.'s reward-model ensembles (mean, WCO, UWO) on tweet-sentiment")]
struct Args {
    /// The settings every study shares.
    #[command(flatten)]
    study: StudyArgs,
    /// Output directory.
    #[arg(long, default_value = "runs/rm-ensembles")]
    out: PathBuf,
    /// Ensemble members.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Train every member on the first this many pairs (default: all).
    #[arg(long)]
    train_pairs: Option<usize>,
    /// UWO's λ in best-of-n.
    #[arg(long, default_value_t = 0.5)]
    uwo_bon: f64,
    /// UWO's λ in PPO.
    #[arg(long, default_value_t = 0.1)]
    uwo_ppo: f64,
    /// PPO's KL coefficients (fixed), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,0.01")]
    betas: Vec<f64>,
    /// Seeds of the PPO runs (prompt order, sampling, evaluation), comma-separated: one run
    /// per objective, β and seed.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    ppo_seeds: Vec<u64>,
}

/// What is optimised against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Objective {
    /// Member 0 alone.
    Single,
    /// The members combined by a rule.
    Ensemble(Aggregation),
}

impl Objective {
    /// Single, mean, WCO and UWO with `lambda`.
    fn all(lambda: f64) -> [Self; 4] {
        [
            Self::Single,
            Self::Ensemble(Aggregation::Mean),
            Self::Ensemble(Aggregation::Wco),
            Self::Ensemble(Aggregation::Uwo { lambda, ddof: 0 }),
        ]
    }

    fn name(self) -> String {
        match self {
            Self::Single => "single".into(),
            Self::Ensemble(Aggregation::Mean) => "mean".into(),
            Self::Ensemble(Aggregation::Wco) => "WCO".into(),
            Self::Ensemble(Aggregation::Uwo { lambda, .. }) => format!("UWO λ={lambda}"),
        }
    }

    /// A file-name stem.
    fn stem(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Ensemble(Aggregation::Mean) => "mean",
            Self::Ensemble(Aggregation::Wco) => "wco",
            Self::Ensemble(Aggregation::Uwo { .. }) => "uwo",
        }
    }

    /// Combines one sample's member scores.
    fn combine(self, members: &[f32]) -> f64 {
        match self {
            Self::Single => f64::from(members[0]),
            Self::Ensemble(rule) => f64::from(rule.combine(members)),
        }
    }
}

/// A trained, normalised member (`member-{i}/member.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    /// Its seed.
    seed: u64,
    /// The reward-model directory.
    dir: PathBuf,
    /// Held-out agreement with gold (before normalisation; an affine map with a positive
    /// scale keeps it).
    agreement: f64,
    /// Seconds of training.
    seconds: f64,
}

/// One objective's best-of-n curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BonStudy {
    objective: Objective,
    curve: Vec<BonCurvePoint>,
    /// Per prompt, the expected gold of the objective's best of `N`.
    at_n: Vec<f64>,
}

/// One PPO run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PpoStudy {
    objective: Objective,
    beta: f64,
    seed: u64,
    evals: Vec<(usize, EvalSummary)>,
    seconds: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.k < 2 {
        bail!("--k: an ensemble needs at least 2 members");
    }
    args.study.validate()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let start = Instant::now();
    let data = training_data(&args)?;
    let members: Vec<Member> = (0..args.k as u64)
        .map(|i| member(&args, &data, args.study.seed + i, i as usize))
        .collect::<Result<_>>()?;
    for m in &members {
        println!(
            "member seed {}: held-out agreement {:.3}, {:.0} s",
            m.seed, m.agreement, m.seconds
        );
    }
    let agreement = objective_agreement(&args, &members)?;

    let scores = bon_scores(&args, &members)?;
    println!(
        "best-of-n: {} prompts × {} samples scored by gold and {} members, {:.0} s",
        scores.gold.len(),
        scores.n,
        members.len(),
        scores.seconds
    );
    let bon: Vec<BonStudy> = Objective::all(args.uwo_bon)
        .into_iter()
        .map(|objective| bon_study(objective, &scores))
        .collect::<Result<_>>()?;

    let mut ppo = Vec::new();
    for &seed in &args.ppo_seeds {
        for &beta in &args.betas {
            for objective in Objective::all(args.uwo_ppo) {
                let s = ppo_study(&args, &members, objective, beta, seed)?;
                println!(
                    "PPO β = {beta}, seed {seed}, against {}: {:.0} s",
                    objective.name(),
                    s.seconds
                );
                ppo.push(s);
            }
        }
    }

    plot(&args, &bon, &ppo)?;
    let total = start.elapsed().as_secs_f64();
    let md = report(&args, &members, &agreement, &scores, &bon, &ppo, total)?;
    std::fs::write(args.out.join("results.md"), &md)?;
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "members": members, "agreement": agreement, "bon": bon, "ppo": ppo, "seconds": total,
        }))?,
    )?;
    println!("\n{md}");
    Ok(())
}

/// The training file the members learn from: `--train`, or its first `--train-pairs` pairs
/// (written to `train-subset.jsonl`).
fn training_data(args: &Args) -> Result<PathBuf> {
    let Some(n) = args.train_pairs else {
        return Ok(args.study.train.clone());
    };
    let pairs: Vec<PreferencePair> = read_jsonl(&args.study.train)?;
    if n == 0 || n > pairs.len() {
        bail!(
            "--train-pairs {n}: {} holds {} pairs",
            args.study.train.display(),
            pairs.len()
        );
    }
    let path = args.out.join("train-subset.jsonl");
    rlp::core::jsonl::write_jsonl(&path, &pairs[..n])?;
    Ok(path)
}

/// Trains (or, with `--reuse`, reads) member `index` with `seed`, normalised on the base
/// policy's samples.
fn member(args: &Args, data: &Path, seed: u64, index: usize) -> Result<Member> {
    let dir = args.out.join(format!("member-{index}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    cached(
        &dir.join("member.json"),
        args.study.reuse,
        |m: &Member| m.seed == seed,
        || {
            let t = Instant::now();
            let cfg = RewardTrainConfig::noisy_proxy(
                data.to_path_buf(),
                Some(args.study.eval.clone()),
                tweet_sentiment::models_dir().join("base"),
                dir.clone(),
                seed,
                args.study.backend,
            );
            let outcome = train(&cfg, false)?;
            let Some(eval) = outcome.eval else {
                bail!("no held-out evaluation of {}", dir.display());
            };
            let pairs: Vec<PreferencePair> = read_jsonl(data)?;
            normalize_saved(
                &dir,
                &args.study.backend.device()?,
                &NormSet::from_pairs(&pairs, NORM_PAIRS),
            )?;
            Ok(Member {
                seed,
                dir: dir.clone(),
                agreement: eval.accuracy,
                seconds: t.elapsed().as_secs_f64(),
            })
        },
    )
}

/// The members, loaded as reward functions.
fn load_members(members: &[Member], device: &burn::tensor::Device) -> Result<Vec<LearnedReward>> {
    members
        .iter()
        .map(|m| {
            LearnedReward::load(&m.dir, device)
                .with_context(|| format!("loading {}", m.dir.display()))
        })
        .collect()
}

/// `[member][sample]` scores of `prompts`/`responses`.
fn member_scores(
    members: &[LearnedReward],
    prompts: &[String],
    responses: &[String],
) -> Result<Vec<Vec<f32>>> {
    members
        .iter()
        .map(|m| Ok(m.score_texts(prompts, responses)?))
        .collect()
}

/// Held-out agreement with gold of every objective (ties count half), with the BoN and PPO
/// λ of UWO.
fn objective_agreement(args: &Args, members: &[Member]) -> Result<Vec<(String, f64, usize)>> {
    let device = args.study.backend.device()?;
    let loaded = load_members(members, &device)?;
    let pairs: Vec<PreferencePair> = read_jsonl(&args.study.eval)?;
    let prompts: Vec<String> = pairs.iter().map(|p| p.prompt.clone()).collect();
    let chosen: Vec<String> = pairs.iter().map(|p| p.chosen.clone()).collect();
    let rejected: Vec<String> = pairs.iter().map(|p| p.rejected.clone()).collect();
    let c = member_scores(&loaded, &prompts, &chosen)?;
    let r = member_scores(&loaded, &prompts, &rejected)?;
    let column = |m: &[Vec<f32>], j: usize| m.iter().map(|s| s[j]).collect::<Vec<f32>>();
    let mut objectives = Objective::all(args.uwo_bon).to_vec();
    objectives.push(Objective::Ensemble(Aggregation::Uwo {
        lambda: args.uwo_ppo,
        ddof: 0,
    }));
    Ok(objectives
        .into_iter()
        .map(|o| {
            let agree: f64 = (0..pairs.len())
                .map(|j| {
                    let (a, b) = (o.combine(&column(&c, j)), o.combine(&column(&r, j)));
                    if a > b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    }
                })
                .sum();
            (o.name(), agree / pairs.len().max(1) as f64, pairs.len())
        })
        .collect())
}

/// Samples `--bon-n` responses per prompt from the base policy once and scores them by gold and
/// every one of `members` (or, with `--reuse`, reads `bon_scores.json`).
fn bon_scores(args: &Args, members: &[Member]) -> Result<ScoredSamples> {
    let dirs: Vec<PathBuf> = members.iter().map(|m| m.dir.clone()).collect();
    cached_base_policy_samples(
        &args.out.join("bon_scores.json"),
        args.study.reuse,
        args.study.bon_prompts,
        args.study.bon_n,
        &dirs,
        args.study.seed,
        "rm-ensembles-bon",
        args.study.backend,
    )
}

/// The best-of-n curve of one objective: each sample's members combined, then the unbiased
/// estimator per prompt, averaged over prompts.
fn bon_study(objective: Objective, scores: &ScoredSamples) -> Result<BonStudy> {
    let combined: Vec<Vec<f64>> = (0..scores.gold.len())
        .map(|p| {
            (0..scores.n)
                .map(|i| {
                    let members: Vec<f32> = scores.proxies.iter().map(|m| m[p][i] as f32).collect();
                    objective.combine(&members)
                })
                .collect()
        })
        .collect();
    let at_n = combined
        .iter()
        .zip(&scores.gold)
        .map(|(p, g)| Ok(best_of_n_gold(p, g, scores.n)?))
        .collect::<Result<_>>()?;
    Ok(BonStudy {
        objective,
        curve: mean_bon_curve(&combined, &scores.gold, &candidate_counts(scores.n))?,
        at_n,
    })
}

/// PPO against one objective at KL coefficient `beta` (or, with `--reuse`, a finished run).
fn ppo_study(
    args: &Args,
    members: &[Member],
    objective: Objective,
    beta: f64,
    seed: u64,
) -> Result<PpoStudy> {
    let out = args
        .out
        .join(format!("ppo-beta{beta}-{}-seed{seed}", objective.stem()));
    let (reward, ensemble) = match objective {
        Objective::Single => (members[0].dir.to_string_lossy().into_owned(), None),
        Objective::Ensemble(aggregation) => (
            "ensemble".to_string(),
            Some(EnsembleSpec {
                members: members.iter().map(|m| m.dir.clone()).collect(),
                aggregation,
            }),
        ),
    };
    let mut config = study_ppo(
        reward,
        beta,
        args.study.ppo_iterations,
        args.study.eval_every,
        seed,
        args.study.backend,
    );
    config.ensemble = ensemble;
    config.eval_prompts = args.study.eval_prompts;
    eprintln!(
        "== PPO β = {beta}, seed {seed}, against {} → {}",
        objective.name(),
        out.display()
    );
    let ArmRun { evals, seconds, .. } = run_arm(&config, &out, args.study.reuse)?;
    Ok(PpoStudy {
        objective,
        beta,
        seed,
        evals,
        seconds,
    })
}

/// The runs of `objective` at `beta`, one per seed.
fn arms(ppo: &[PpoStudy], objective: Objective, beta: f64) -> Vec<&PpoStudy> {
    ppo.iter()
        .filter(|s| s.objective == objective && s.beta == beta)
        .collect()
}

/// `(KL, gold)` at each evaluation, averaged over the runs (seeds), up to the shortest run.
fn seed_mean_curve(runs: &[&PpoStudy]) -> Vec<(f64, f64)> {
    let len = runs.iter().map(|r| r.evals.len()).min().unwrap_or(0);
    (0..len)
        .map(|i| {
            let kl: Vec<f64> = runs
                .iter()
                .map(|r| r.evals[i].1.kl_k1.mean.max(0.0))
                .collect();
            let gold: Vec<f64> = runs.iter().map(|r| r.evals[i].1.gold.mean).collect();
            (MeanSe::of(&kl).mean, MeanSe::of(&gold).mean)
        })
        .collect()
}

/// `bon.{svg,png}` and `ppo-beta{β}.{svg,png}` (PPO: gold against KL averaged over seeds).
fn plot(args: &Args, bon: &[BonStudy], ppo: &[PpoStudy]) -> Result<()> {
    let mut p = LinePlot::new(
        "best-of-n on tweet-sentiment: gold gain vs KL, by objective",
        "KL (nats, log n − (n−1)/n)",
        "gold − gold of one sample",
    );
    for s in bon {
        p = p.with_series(
            s.objective.name(),
            s.curve.iter().map(|c| (c.kl, c.gold_gain)).collect(),
        );
    }
    p.save_svg(args.out.join("bon.svg"))?;
    p.save_png(args.out.join("bon.png"))?;
    for &beta in &args.betas {
        let mut p = LinePlot::new(
            format!("PPO (β = {beta}) on tweet-sentiment: gold vs KL, by objective"),
            "KL(π ‖ π_init) (nats, k1)",
            "gold score",
        );
        for objective in Objective::all(args.uwo_ppo) {
            let runs = arms(ppo, objective, beta);
            p = p.with_series(objective.name(), seed_mean_curve(&runs));
        }
        p.save_svg(args.out.join(format!("ppo-beta{beta}.svg")))?;
        p.save_png(args.out.join(format!("ppo-beta{beta}.png")))?;
    }
    Ok(())
}

/// The highest point of a curve and its last, as `(index, value)`.
fn peak_and_last(values: &[f64]) -> (usize, usize) {
    let peak = values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    (peak, values.len().saturating_sub(1))
}

/// `results.md`.
fn report(
    args: &Args,
    members: &[Member],
    agreement: &[(String, f64, usize)],
    scores: &ScoredSamples,
    bon: &[BonStudy],
    ppo: &[PpoStudy],
    total: f64,
) -> Result<String> {
    let mut md = String::new();
    writeln!(
        md,
        "# Reward-model ensembles on {TASK} (k = {}, seed {})\n",
        members.len(),
        args.study.seed
    )?;
    let agreements: Vec<f64> = members.iter().map(|m| m.agreement).collect();
    let a = MeanSe::of(&agreements);
    writeln!(
        md,
        "Members trained on `{}`{}; held-out agreement with gold on `{}`: {} (mean {:.3} ± \
         {:.3}).\n",
        args.study.train.display(),
        args.train_pairs
            .map_or(String::new(), |n| format!(" (first {n} pairs)")),
        args.study.eval.display(),
        agreements
            .iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        a.mean,
        a.se
    )?;
    writeln!(md, "| objective | held-out agreement |\n|---|---|")?;
    for (name, acc, n) in agreement {
        writeln!(md, "| {name} | {acc:.3} ({n} pairs) |")?;
    }

    writeln!(
        md,
        "\n## Best-of-n ({} prompts × N = {}; gold of one sample {:.3})\n",
        scores.gold.len(),
        scores.n,
        bon.first()
            .and_then(|s| s.curve.first())
            .map_or(0.0, |c| c.gold)
    )?;
    writeln!(
        md,
        "Gold gain over one sample (± SE over prompts, paired), by `n`; the peak and the fall \
         from it to `n = N`.\n"
    )?;
    let ns: Vec<String> = bon
        .first()
        .map(|s| s.curve.iter().map(|c| c.n.to_string()).collect())
        .unwrap_or_default();
    writeln!(
        md,
        "| objective | {} | peak n | fall to N | − single at N (paired by prompt) |",
        ns.join(" | ")
    )?;
    writeln!(md, "|---|{}---|---|---|", "---|".repeat(ns.len()))?;
    let single_at_n = bon
        .iter()
        .find(|s| s.objective == Objective::Single)
        .map(|s| s.at_n.clone());
    for s in bon {
        let versus = match (&single_at_n, s.objective) {
            (_, Objective::Single) | (None, _) => "–".to_string(),
            (Some(single), _) => {
                let d: Vec<f64> = s.at_n.iter().zip(single).map(|(a, b)| a - b).collect();
                let d = MeanSe::of(&d);
                format!("{:+.3} ± {:.3}", d.mean, d.se)
            }
        };
        let gains: Vec<f64> = s.curve.iter().map(|c| c.gold_gain).collect();
        let (peak, last) = peak_and_last(&gains);
        let cells: Vec<String> = s
            .curve
            .iter()
            .map(|c| format!("{:.3} ± {:.3}", c.gold_gain, c.gold_gain_se))
            .collect();
        writeln!(
            md,
            "| {} | {} | {} | {:.3} | {versus} |",
            s.objective.name(),
            cells.join(" | "),
            s.curve[peak].n,
            gains[peak] - gains[last]
        )?;
    }

    for &beta in &args.betas {
        writeln!(
            md,
            "\n## PPO, β = {beta} ({} iterations × 32 prompts, eval every {} on {} prompts × 2; \
             seeds {:?})\n",
            args.study.ppo_iterations,
            args.study.eval_every,
            args.study.eval_prompts,
            args.ppo_seeds
        )?;
        writeln!(
            md,
            "Final gold: mean ± SE over seeds, and each seed's (± its SE over samples); the \
             difference from the single proxy paired by seed; the peak of the seed-mean gold \
             curve and the fall from it to the end; final objective, KL and drift averaged over \
             seeds.\n"
        )?;
        writeln!(
            md,
            "| objective | final gold | per seed | − single (paired) | peak gold (iteration) | \
             fall from peak | final objective | final KL | final drift ppl |"
        )?;
        writeln!(md, "|---|---|---|---|---|---|---|---|---|")?;
        let single = arms(ppo, Objective::Single, beta);
        for objective in Objective::all(args.uwo_ppo) {
            let runs = arms(ppo, objective, beta);
            let Some(first) = runs.first() else {
                continue;
            };
            let last = |r: &PpoStudy| r.evals.last().map(|(_, e)| e.clone());
            let finals: Vec<EvalSummary> = runs.iter().filter_map(|r| last(r)).collect();
            let of = |f: &dyn Fn(&EvalSummary) -> f64| {
                MeanSe::of(&finals.iter().map(f).collect::<Vec<_>>())
            };
            let gold = of(&|e| e.gold.mean);
            let per_seed: Vec<String> = finals
                .iter()
                .map(|e| format!("{:.3} ± {:.3}", e.gold.mean, e.gold.se))
                .collect();
            let diffs: Vec<f64> = runs
                .iter()
                .filter_map(|r| {
                    let s = single.iter().find(|s| s.seed == r.seed)?;
                    Some(last(r)?.gold.mean - last(s)?.gold.mean)
                })
                .collect();
            let d = MeanSe::of(&diffs);
            let curve: Vec<f64> = seed_mean_curve(&runs).iter().map(|p| p.1).collect();
            let (peak, end) = peak_and_last(&curve);
            writeln!(
                md,
                "| {} | {:.3} ± {:.3} | {} | {} | {:.3} ({}) | {:.3} | {:.3} | {:.1} | {:.0} |",
                objective.name(),
                gold.mean,
                gold.se,
                per_seed.join(", "),
                if objective == Objective::Single {
                    "–".to_string()
                } else {
                    format!("{:+.3} ± {:.3}", d.mean, d.se)
                },
                curve.get(peak).copied().unwrap_or(0.0),
                first.evals.get(peak).map_or(0, |e| e.0),
                curve.get(peak).copied().unwrap_or(0.0) - curve.get(end).copied().unwrap_or(0.0),
                of(&|e| e.proxy.map_or(0.0, |p| p.mean)).mean,
                of(&|e| e.kl_k1.mean).mean,
                of(&|e| e.drift_ppl.unwrap_or(f64::NAN)).mean,
            )?;
        }
    }
    writeln!(
        md,
        "\nTimes: members {:.0} s, best-of-n sampling and scoring {:.0} s, PPO {:.0} s in all; \
         this invocation {:.0} s (reused steps keep their recorded times).",
        members.iter().map(|m| m.seconds).sum::<f64>(),
        scores.seconds,
        ppo.iter().map(|p| p.seconds).sum::<f64>(),
        total
    )?;
    Ok(md)
}
