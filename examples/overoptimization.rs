//! Scaling laws for reward-model overoptimisation (Gao, Schulman, Hilton, ICML 2023) on the
//! `tweet-sentiment` task: proxy reward models of three sizes trained on gold-labelled pairs
//! with 25% label noise, optimised against by best-of-n and by PPO without a KL penalty, with
//! the gold score (relative to the base policy) against `d = sqrt(KL)` fitted by Gao et al.'s
//! forms `R_bon(d) = d(α − β d)` and `R_RL(d) = d(α − β log d)` (`rlp::eval::scaling`).
//!
//! The pairs are those of docs/tasks.md (tweet-sentiment): two sampling seeds of the
//! train prompts labelled by the gold scorer with 25% of the labels flipped, and clean pairs on
//! the eval prompts for held-out agreement:
//!
//!     rlp reward label --task tweet-sentiment --prompts 4000 --max-new-tokens 20 --seed 1 --out a.jsonl
//!     rlp reward label --task tweet-sentiment --prompts 4000 --max-new-tokens 20 --seed 3 --out b.jsonl
//!     cat a.jsonl b.jsonl > train.jsonl
//!     rlp reward label --task tweet-sentiment --split eval --flip 0 --max-new-tokens 20 --seed 2 --out test.jsonl
//!     cargo build --release --example overoptimization
//!     target/release/examples/overoptimization --train train.jsonl --eval test.jsonl \
//!         [--out runs/overoptimization] [--layers 1,2,4] [--seed 0]
//!
//! What it does, all seeded by `--seed`:
//! 1. **Proxies.** The base policy (`models/tweet-sentiment/base`, 4 decoder layers of width
//!    192) truncated to its first `k` decoder layers for each `k` of `--layers` (the embedding,
//!    final norm and head kept: `rlp::models::checkpoint::load_layers`) is the initialisation of
//!    a reward model trained as `rlp reward train` does (1 epoch, lr 1e-3, max-len 64, overlong
//!    keep-end). Each proxy's parameter count and held-out agreement with gold are reported.
//! 2. **Best-of-n.** `--bon-n` samples per prompt on the first `--bon-prompts` eval prompts are
//!    drawn once from the base policy and scored by gold and by every proxy; the unbiased
//!    estimator gives gold and proxy of the proxy-best of `n` for `n = 1, 2, 4, …, N`, against
//!    `d = sqrt(log n − (n−1)/n)`.
//! 3. **PPO.** PPO at a fixed β = 0 against each proxy with the main job's PPO settings
//!    (`rlp::runs::study::study_ppo`: 32 prompts per iteration, 2 epochs of minibatch 16, lr
//!    2e-4, value model from the proxy), evaluated every `--eval-every` iterations on
//!    `--eval-prompts` eval prompts × 2 samples; `d = sqrt(max(0, KL))` with the k1 estimate of
//!    `KL(π ‖ π_init)`.
//! 4. **Fits.** Both forms per proxy on the gold score relative to the base policy (the origin,
//!    `n = 1` or iteration 0, is left out of the fit: it is 0 by construction); α, β (± SE from
//!    the residuals), R² and the fitted peak, in `results.md` (also printed) with the curves,
//!    `results.json`, and the plots `bon-*.{svg,png}`, `rl-*.{svg,png}` (gold and proxy vs `d`
//!    with the fitted curve, per proxy) and `bon.{svg,png}`, `rl.{svg,png}` (gold and fits of
//!    all proxies).
//!
//! `--reuse` keeps finished steps found in `--out` (trained proxies, the best-of-n scores,
//! finished PPO runs) instead of recomputing them; their recorded times are reported.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use clap::Parser;
use rlp::eval::{EvalSummary, LinePlot, ScalingFit, ScalingForm, fit_scaling_law};
use rlp::eval::{candidate_counts, mean_bon_curve};
use rlp::models::checkpoint;
use rlp::reward::RewardModel;
use rlp::runs::bon::ScoredSamples;
use rlp::runs::reward::{RewardTrainConfig, train};
use rlp::tasks::tweet_sentiment;
use serde::{Deserialize, Serialize};
use support::{ArmRun, StudyArgs, cached, cached_base_policy_samples, run_arm, study_ppo};

/// The task of the study.
const TASK: &str = tweet_sentiment::NAME;
/// Context length of the reward models (the policy's window; `RewardTrainConfig::noisy_proxy`).
const MAX_LEN: usize = 64;

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(about = "Gao et al.'s overoptimisation scaling laws on tweet-sentiment")]
struct Args {
    /// The settings every study shares.
    #[command(flatten)]
    study: StudyArgs,
    /// Output directory.
    #[arg(long, default_value = "runs/overoptimization")]
    out: PathBuf,
    /// Proxy sizes: decoder layers of the base policy kept, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    layers: Vec<usize>,
}

/// A trained proxy (`proxy-L{layers}/proxy.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProxyInfo {
    /// Decoder layers.
    layers: usize,
    /// The reward-model directory.
    dir: PathBuf,
    /// Parameters that compute the score (embedding, layers, final norm, score head; the
    /// unused LM head left out).
    params: usize,
    /// Of which outside the token embedding.
    non_embedding_params: usize,
    /// Training pairs used.
    train_pairs: usize,
    /// Held-out agreement with gold.
    agreement: f64,
    /// Held-out pairs scored.
    eval_pairs: usize,
    /// Seconds of training and evaluation.
    seconds: f64,
}

/// One point of a curve: `d = sqrt(KL)`, gold and proxy relative to the initial policy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct CurvePoint {
    /// `n` (best-of-n) or the iteration (PPO).
    step: usize,
    /// KL in nats (analytic for best-of-n; k1 estimate for PPO).
    kl: f64,
    /// `sqrt(max(0, kl))`.
    d: f64,
    /// Gold minus the initial policy's gold.
    gold: f64,
    /// Standard error of `gold` (over prompts for best-of-n; over responses for PPO).
    gold_se: f64,
    /// Proxy minus the initial policy's proxy.
    proxy: f64,
}

/// One proxy's curve under one optimiser, with its fit.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Study {
    /// Decoder layers of the proxy.
    layers: usize,
    /// The initial policy's absolute gold score.
    gold_start: f64,
    /// The curve (origin first).
    points: Vec<CurvePoint>,
    /// The fit of the gold curve (origin left out); `None` when it could not be fitted.
    fit: Option<ScalingFit>,
    /// Why the fit failed, if it did.
    fit_error: Option<String>,
    /// Seconds the optimiser ran (PPO: the run; best-of-n: 0, its sampling is shared).
    seconds: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.layers.is_empty() {
        bail!("--layers: name at least one size");
    }
    args.study.validate()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let start = Instant::now();
    let base = tweet_sentiment::models_dir().join("base");

    let mut proxies = Vec::new();
    for &layers in &args.layers {
        let p = proxy(&args, &base, layers)?;
        println!(
            "proxy L{layers}: {} parameters ({} outside the embedding), held-out agreement \
             {:.3} on {} pairs, {:.0} s",
            p.params, p.non_embedding_params, p.agreement, p.eval_pairs, p.seconds
        );
        proxies.push(p);
    }

    let scores = bon_scores(&args, &proxies)?;
    println!(
        "best-of-n: {} prompts × {} samples scored by gold and {} proxies, {:.0} s",
        scores.gold.len(),
        scores.n,
        proxies.len(),
        scores.seconds
    );
    let bon: Vec<Study> = proxies
        .iter()
        .zip(&scores.proxies)
        .map(|(p, proxy)| bon_study(p.layers, &scores.gold, proxy))
        .collect::<Result<_>>()?;

    let mut rl = Vec::new();
    for p in &proxies {
        let s = ppo_study(&args, p)?;
        println!(
            "PPO against L{}: {} evaluations, {:.0} s",
            p.layers,
            s.points.len(),
            s.seconds
        );
        rl.push(s);
    }

    plot_studies(&args.out, "bon", "best-of-n", &bon)?;
    plot_studies(&args.out, "rl", "PPO (β = 0)", &rl)?;
    let total = start.elapsed().as_secs_f64();
    let md = report(&args, &proxies, &scores, &bon, &rl, total)?;
    std::fs::write(args.out.join("results.md"), &md)?;
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "proxies": proxies, "bon": bon, "rl": rl, "seconds": total,
        }))?,
    )?;
    println!("\n{md}");
    Ok(())
}

/// Trains (or, with `--reuse`, reads) the proxy on the first `layers` decoder layers of `base`.
fn proxy(args: &Args, base: &Path, layers: usize) -> Result<ProxyInfo> {
    let dir = args.out.join(format!("proxy-L{layers}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    cached(
        &dir.join("proxy.json"),
        args.study.reuse,
        |p: &ProxyInfo| p.layers == layers,
        || train_proxy(args, base, layers, &dir),
    )
}

/// Trains the proxy on the first `layers` decoder layers of `base` into `dir`.
fn train_proxy(args: &Args, base: &Path, layers: usize, dir: &Path) -> Result<ProxyInfo> {
    let t = Instant::now();
    let device = args.study.backend.device()?;
    let init = args.out.join(format!("init-L{layers}"));
    let truncated = checkpoint::load_layers(base, Some(layers), &device)
        .with_context(|| format!("--layers {layers}: truncating {}", base.display()))?;
    checkpoint::save(&truncated, &init)?;
    std::fs::copy(base.join("tokenizer.json"), init.join("tokenizer.json"))
        .with_context(|| format!("copying {}/tokenizer.json", base.display()))?;
    let cfg = RewardTrainConfig::noisy_proxy(
        args.study.train.clone(),
        Some(args.study.eval.clone()),
        init.clone(),
        dir.to_path_buf(),
        args.study.seed,
        args.study.backend,
    );
    let outcome = train(&cfg, false)?;
    let Some(eval) = outcome.eval else {
        bail!("no held-out evaluation of {}", dir.display());
    };
    let rm = RewardModel::load(dir, &device)?;
    let lm_head = rm.backbone.lm_head.as_ref().map_or(0, |h| h.num_params());
    let params = rm.num_params() - lm_head;
    let info = ProxyInfo {
        layers,
        dir: dir.to_path_buf(),
        params,
        non_embedding_params: params - rm.backbone.embed_tokens.num_params(),
        train_pairs: outcome.train.pairs,
        agreement: eval.accuracy,
        eval_pairs: eval.pairs,
        seconds: t.elapsed().as_secs_f64(),
    };
    std::fs::remove_dir_all(&init).with_context(|| format!("removing {}", init.display()))?;
    Ok(info)
}

/// Samples `--bon-n` responses per prompt from the base policy once and scores them by gold and
/// every one of `proxies` (or, with `--reuse`, reads `bon_scores.json`).
fn bon_scores(args: &Args, proxies: &[ProxyInfo]) -> Result<ScoredSamples> {
    let dirs: Vec<PathBuf> = proxies.iter().map(|p| p.dir.clone()).collect();
    cached_base_policy_samples(
        &args.out.join("bon_scores.json"),
        args.study.reuse,
        args.study.bon_prompts,
        args.study.bon_n,
        &dirs,
        args.study.seed,
        "overoptimization-bon",
        args.study.backend,
    )
}

/// The best-of-n curve of one proxy: per prompt the unbiased estimator, then the mean over
/// prompts of the gain over `n = 1` (with its standard error over prompts).
fn bon_study(layers: usize, gold: &[Vec<f64>], proxy: &[Vec<f64>]) -> Result<Study> {
    let big_n = gold.first().map_or(0, Vec::len);
    let curve = mean_bon_curve(proxy, gold, &candidate_counts(big_n))?;
    let origin = curve[0];
    let points: Vec<CurvePoint> = curve
        .iter()
        .map(|c| CurvePoint {
            step: c.n,
            kl: c.kl,
            d: c.kl.max(0.0).sqrt(),
            gold: c.gold_gain,
            gold_se: c.gold_gain_se,
            proxy: c.proxy - origin.proxy,
        })
        .collect();
    Ok(with_fit(
        ScalingForm::BestOfN,
        Study {
            layers,
            gold_start: origin.gold,
            points,
            fit: None,
            fit_error: None,
            seconds: 0.0,
        },
    ))
}

/// Fits `form` to the study's gold curve without its origin.
fn with_fit(form: ScalingForm, mut s: Study) -> Study {
    let rest = &s.points[1.min(s.points.len())..];
    let d: Vec<f64> = rest.iter().map(|p| p.d).collect();
    let r: Vec<f64> = rest.iter().map(|p| p.gold).collect();
    match fit_scaling_law(form, &d, &r) {
        Ok(f) => s.fit = Some(f),
        Err(e) => s.fit_error = Some(e.to_string()),
    }
    s
}

/// PPO at β = 0 against one proxy (or, with `--reuse`, a finished run's evaluations).
fn ppo_study(args: &Args, p: &ProxyInfo) -> Result<Study> {
    let out = args.out.join(format!("ppo-L{}", p.layers));
    let mut config = study_ppo(
        p.dir.to_string_lossy(),
        0.0,
        args.study.ppo_iterations,
        args.study.eval_every,
        args.study.seed,
        args.study.backend,
    );
    config.eval_prompts = args.study.eval_prompts;
    let ArmRun { evals, seconds, .. } = run_arm(&config, &out, args.study.reuse)?;
    let Some((0, first)) = evals.first() else {
        bail!("{}: no evaluation of the initial policy", out.display());
    };
    let proxy0 = |e: &EvalSummary| e.proxy.map_or(0.0, |m| m.mean);
    let points = evals
        .iter()
        .map(|(it, e)| {
            let kl = if *it == 0 { 0.0 } else { e.kl_k1.mean };
            CurvePoint {
                step: *it,
                kl,
                d: kl.max(0.0).sqrt(),
                gold: e.gold.mean - first.gold.mean,
                gold_se: e.gold.se,
                proxy: proxy0(e) - proxy0(first),
            }
        })
        .collect();
    Ok(with_fit(
        ScalingForm::Rl,
        Study {
            layers: p.layers,
            gold_start: first.gold.mean,
            points,
            fit: None,
            fit_error: None,
            seconds,
        },
    ))
}

/// Per proxy, `{stem}-L{k}.{svg,png}`: gold, the fitted curve and proxy against `d`; and
/// `{stem}.{svg,png}`: gold and the fit of every proxy.
fn plot_studies(out: &Path, stem: &str, what: &str, studies: &[Study]) -> Result<()> {
    let x = "d = sqrt(KL(π ‖ π_init)) (sqrt nats)";
    let y = "score − initial policy's";
    let fitted = |s: &Study| {
        let d_max = s.points.iter().map(|p| p.d).fold(0.0, f64::max);
        s.fit.map(|f| f.curve(d_max, 30)).unwrap_or_default()
    };
    let mut all = LinePlot::new(
        format!("{what}: gold vs d, by proxy size"),
        x,
        "gold − initial",
    );
    let mut fits = Vec::new();
    for s in studies {
        let gold: Vec<(f64, f64)> = s.points.iter().map(|p| (p.d, p.gold)).collect();
        let proxy: Vec<(f64, f64)> = s.points.iter().map(|p| (p.d, p.proxy)).collect();
        let mut plot = LinePlot::new(format!("{what} against the L{} proxy", s.layers), x, y)
            .with_series("gold", gold.clone());
        let curve = fitted(s);
        if !curve.is_empty() {
            plot = plot.with_series(format!("gold fit ({})", fit_label(s.fit)), curve.clone());
            fits.push((format!("L{} fit", s.layers), curve));
        }
        plot = plot.with_series("proxy", proxy);
        let file = out.join(format!("{stem}-L{}", s.layers));
        plot.save_svg(file.with_extension("svg"))?;
        plot.save_png(file.with_extension("png"))?;
        all = all.with_series(format!("L{} gold", s.layers), gold);
    }
    for (name, curve) in fits {
        all = all.with_series(name, curve);
    }
    all.save_svg(out.join(format!("{stem}.svg")))?;
    all.save_png(out.join(format!("{stem}.png")))?;
    Ok(())
}

/// `α 0.50, β 0.10` for a legend.
fn fit_label(f: Option<ScalingFit>) -> String {
    f.map_or("-".into(), |f| format!("α {:.3}, β {:.3}", f.alpha, f.beta))
}

/// `x ± se` with `digits` decimals (or just `x`).
fn pm(x: f64, se: Option<f64>, digits: usize) -> String {
    match se {
        Some(se) => format!("{x:.digits$} ± {se:.digits$}"),
        None => format!("{x:.digits$}"),
    }
}

/// The fit's columns: α, β, R², peak d* and R(d*).
fn fit_cells(s: &Study) -> [String; 5] {
    match &s.fit {
        Some(f) => [
            pm(f.alpha, f.alpha_se, 3),
            pm(f.beta, f.beta_se, 3),
            f.r_squared.map_or("-".into(), |r| format!("{r:.3}")),
            f.peak.map_or("none".into(), |p| format!("{:.2}", p.d)),
            f.peak.map_or("-".into(), |p| format!("{:.3}", p.value)),
        ],
        None => [
            format!("no fit: {}", s.fit_error.as_deref().unwrap_or("?")),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ],
    }
}

/// The measured curve's highest gold gain `(d, R)` and its last point.
fn measured(s: &Study) -> ((f64, f64), (f64, f64)) {
    let best = s
        .points
        .iter()
        .max_by(|a, b| a.gold.total_cmp(&b.gold))
        .map_or((0.0, 0.0), |p| (p.d, p.gold));
    let last = s.points.last().map_or((0.0, 0.0), |p| (p.d, p.gold));
    (best, last)
}

/// `results.md`: the proxies, the fits, the curves and the times.
fn report(
    args: &Args,
    proxies: &[ProxyInfo],
    scores: &ScoredSamples,
    bon: &[Study],
    rl: &[Study],
    total: f64,
) -> Result<String> {
    let mut md = String::new();
    writeln!(
        md,
        "# Overoptimisation scaling laws on {TASK} (seed {})\n",
        args.study.seed
    )?;
    writeln!(
        md,
        "Proxies trained on `{}` (1 epoch, lr 1e-3, max-len {MAX_LEN}, keep-end), agreement on \
         `{}`.\n",
        args.study.train.display(),
        args.study.eval.display()
    )?;
    writeln!(
        md,
        "| proxy | parameters (non-embedding) | training pairs | held-out agreement | train s |"
    )?;
    writeln!(md, "|---|---|---|---|---|")?;
    for p in proxies {
        writeln!(
            md,
            "| L{} | {} ({}) | {} | {:.3} ({} pairs) | {:.0} |",
            p.layers,
            p.params,
            p.non_embedding_params,
            p.train_pairs,
            p.agreement,
            p.eval_pairs,
            p.seconds
        )?;
    }
    for (title, form, studies) in [
        (
            format!(
                "Best-of-n ({} prompts × N = {}; gold at n = 1: {:.3})",
                scores.gold.len(),
                scores.n,
                bon.first().map_or(0.0, |s| s.gold_start)
            ),
            ScalingForm::BestOfN,
            bon,
        ),
        (
            format!(
                "PPO, β = 0 ({} iterations × 32 prompts, eval every {} on {} prompts × 2; gold at \
                 iteration 0: {:.3})",
                args.study.ppo_iterations,
                args.study.eval_every,
                args.study.eval_prompts,
                rl.first().map_or(0.0, |s| s.gold_start)
            ),
            ScalingForm::Rl,
            rl,
        ),
    ] {
        writeln!(md, "\n## {title}\n")?;
        let formula = match form {
            ScalingForm::BestOfN => "R = d(α − β d)",
            ScalingForm::Rl => "R = d(α − β log d)",
        };
        writeln!(
            md,
            "Fit of `{formula}` to gold − initial (origin left out). Measured: the highest gold \
             gain and the last point, as (d, R).\n"
        )?;
        writeln!(
            md,
            "| proxy | α | β | R² | peak d* | R(d*) | measured max (d, R) | last (d, R) | s |"
        )?;
        writeln!(md, "|---|---|---|---|---|---|---|---|---|")?;
        for s in studies {
            let [a, b, r2, pd, pv] = fit_cells(s);
            let ((bd, br), (ld, lr)) = measured(s);
            writeln!(
                md,
                "| L{} | {a} | {b} | {r2} | {pd} | {pv} | ({bd:.2}, {br:.3}) | ({ld:.2}, {lr:.3}) \
                 | {:.0} |",
                s.layers, s.seconds
            )?;
        }
        let Some(first) = studies.first() else {
            continue;
        };
        writeln!(
            md,
            "\nCurves: gold − initial (± SE) / proxy − initial, and d.\n"
        )?;
        let head: Vec<String> = studies.iter().map(|s| format!("L{}", s.layers)).collect();
        let step = match form {
            ScalingForm::BestOfN => "n",
            ScalingForm::Rl => "iteration",
        };
        writeln!(md, "| {step} | {} |", head.join(" | "))?;
        writeln!(md, "|---|{}", "---|".repeat(head.len()))?;
        for (i, origin) in first.points.iter().enumerate() {
            let cells: Vec<String> = studies
                .iter()
                .map(|s| {
                    s.points.get(i).map_or("-".into(), |p| {
                        format!(
                            "{:.3} ± {:.3} / {:.3} (d {:.2})",
                            p.gold, p.gold_se, p.proxy, p.d
                        )
                    })
                })
                .collect();
            writeln!(md, "| {} | {} |", origin.step, cells.join(" | "))?;
        }
    }
    writeln!(
        md,
        "\nTimes: best-of-n sampling and scoring {:.0} s; total {:.0} s (reused steps count their \
         recorded times in their rows, not in the total).",
        scores.seconds, total
    )?;
    Ok(md)
}
