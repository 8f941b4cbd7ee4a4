//! f-DPG (Go et al., ICML 2023, "Aligning Language Models with Preferences through
//! f-divergence Minimization") with its four divergences — forward KL, reverse KL,
//! Jensen–Shannon and total variation — on two targets built on `tweet-sentiment`'s base
//! policy `a`:
//!
//! - **pointwise constraint** `p ∝ a·b`: `b(y) = 1` when the continuation contains one of a
//!   fixed list of positive words (`POSITIVE_WORDS`; about 5.6% of the base policy's
//!   continuations do), so `p` is the base policy conditioned on using one;
//! - **RLHF** `p ∝ a·exp(r/β)`: `r` a proxy reward model (docs/tasks.md's `runs/proxy`), β = `--beta`.
//!
//! The paper's claims: no divergence is best everywhere; Jensen–Shannon often beats forward KL
//! by a wide margin; reverse KL aligns best but loses diversity.
//!
//!     cargo run --release --example f_dpg -- runs/proxy [OUT] [--steps 150] [--lr 1e-4] \
//!         [--beta 0.1] [--seeds 0] [--divergences jensen-shannon,…] [--targets pointwise,rlhf] [--reuse]
//!
//! Each run: `--steps` f-DPG steps of 32 samples (online proposal, the moving-average baseline,
//! `Ẑ` cumulative, `log t` clipped at ±10), then an evaluation on 128 eval prompts × 2 samples:
//! the alignment score (the constraint's acceptance rate, or gold and proxy for RLHF), KL to the
//! base policy, drift, distinct-1/2 and self-BLEU; and the divergence to the target, the mean of
//! the last 10 steps' importance-sampling estimates of `KL(p‖π)`, `TV(p, π)` and `JS(p, π)`.
//! Writes one directory per run (`metrics.jsonl`, `run.json`), `report.md` and plots into OUT
//! (default `runs/f-dpg`).

mod support;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use rlp::core::{BackendSpec, FnReward, RewardFn, SeededRng};
use rlp::eval::{EvalSummary, LinePlot, MeanSe, Report, evaluate_policy, markdown_table};
use rlp::models::{CausalLm, checkpoint};
use rlp::policy::fdpg::{
    Divergence, DivergenceEstimates, FdpgConfig, FdpgStats, FdpgTrainer, Target,
};
use rlp::reward::LearnedReward;
use rlp::tasks::{Task, load_base_policy, load_task, tweet_sentiment};
use serde::{Deserialize, Serialize};
use support::{cached, study_eval};

/// Words whose presence satisfies the pointwise constraint (lower case, whole words).
const POSITIVE_WORDS: [&str; 13] = [
    "love", "good", "great", "happy", "amazing", "awesome", "best", "fun", "nice", "excited",
    "cool", "thanks", "hope",
];
/// Steps whose IS estimates are averaged into the divergence to the target.
const LAST_STEPS: usize = 10;

/// f-DPG with four divergences on a pointwise and an RLHF target built on tweet-sentiment.
#[derive(clap::Parser)]
struct Args {
    /// The reward-model directory of the RLHF target.
    reward: PathBuf,
    /// Output directory.
    #[arg(default_value = "runs/f-dpg")]
    out: PathBuf,
    /// f-DPG steps per run (at least the 10 whose estimates are averaged).
    #[arg(long, default_value_t = 150)]
    steps: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// β of the RLHF target.
    #[arg(long, default_value_t = 0.1)]
    beta: f64,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    seeds: Vec<u64>,
    /// Divergences, comma-separated (forward-kl, reverse-kl, jensen-shannon, total-variation).
    #[arg(long, value_delimiter = ',', value_parser = parse_divergence,
          default_value = "forward-kl,reverse-kl,jensen-shannon,total-variation")]
    divergences: Vec<Divergence>,
    /// Targets, comma-separated (pointwise, rlhf).
    #[arg(long = "targets", value_delimiter = ',', value_parser = parse_kind,
          default_value = "pointwise,rlhf")]
    kinds: Vec<Kind>,
    /// Keep finished runs found in OUT.
    #[arg(long)]
    reuse: bool,
}

fn parse_divergence(s: &str) -> Result<Divergence, String> {
    Divergence::ALL
        .into_iter()
        .find(|d| d.name() == s.trim())
        .ok_or_else(|| {
            format!("`{s}` is not one of forward-kl, reverse-kl, jensen-shannon, total-variation")
        })
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    match s.trim() {
        "pointwise" => Ok(Kind::Pointwise),
        "rlhf" => Ok(Kind::Rlhf),
        other => Err(format!("`{other}` is not pointwise or rlhf")),
    }
}

/// The command line, checked.
fn parse_args() -> Result<Args> {
    let args: Args = clap::Parser::parse();
    if args.steps < LAST_STEPS {
        bail!("--steps must be at least {LAST_STEPS}");
    }
    Ok(args)
}

/// `b(y)`: 1 when the response contains one of [`POSITIVE_WORDS`] as a whole word.
fn constraint() -> FnReward<impl Fn(&str, &str) -> f32> {
    FnReward::new("positive-word", |_: &str, response: &str| {
        let hit = response
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .any(|w| POSITIVE_WORDS.contains(&w));
        if hit { 1.0 } else { 0.0 }
    })
}

/// The two targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Kind {
    Pointwise,
    Rlhf,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Pointwise => "pointwise constraint (positive word)",
            Self::Rlhf => "RLHF (proxy reward)",
        }
    }
    fn stem(self) -> &'static str {
        match self {
            Self::Pointwise => "pointwise",
            Self::Rlhf => "rlhf",
        }
    }
}

/// One finished run (`run.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    kind: Kind,
    divergence: Option<Divergence>,
    seed: u64,
    eval: EvalSummary,
    /// Mean of the last steps' IS estimates (`None` for the base policy).
    target: Option<DivergenceEstimates>,
    seconds: f64,
}

/// The target of `kind`: the constraint, or the proxy loaded from `reward`.
fn target(kind: Kind, reward: &Path, context: usize, backend: BackendSpec) -> Result<Target> {
    Ok(match kind {
        Kind::Pointwise => Target::Pointwise(Box::new(constraint())),
        Kind::Rlhf => {
            let mut r = LearnedReward::load(reward, &backend.device()?)
                .with_context(|| format!("loading {}", reward.display()))?;
            r.max_len = r.max_len.min(context);
            Target::Rlhf(Box::new(r))
        }
    })
}

/// Evaluates `policy` against the base on 128 eval prompts × 2: gold, the alignment scorer (as
/// the proxy column), KL, drift, diversity.
fn evaluate(
    policy: &CausalLm,
    base: &CausalLm,
    task: &Task,
    align: &dyn RewardFn,
    seed: u64,
) -> Result<EvalSummary> {
    let tokenizer = rlp::models::TextTokenizer::load(
        tweet_sentiment::models_dir().join("base/tokenizer.json"),
    )?;
    Ok(evaluate_policy(
        policy,
        base,
        &tokenizer,
        &task.eval_prompts[..128],
        task.gold.as_ref(),
        Some(align),
        &task.drift[..200],
        &study_eval(seed),
        &SeededRng::new(seed).fork("f-dpg-eval"),
    )?)
}

/// Trains f-DPG with `divergence` on `kind`'s target (or, with `None`, only evaluates the base).
fn run(args: &Args, kind: Kind, divergence: Option<Divergence>, seed: u64) -> Result<Run> {
    let name = divergence.map_or("base".to_string(), |d| d.name().replace(' ', "-"));
    let dir = args.out.join(format!(
        "{}-{}-seed{seed}",
        kind.stem(),
        name.to_lowercase()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    cached(
        &dir.join("run.json"),
        args.reuse,
        |r: &Run| r.kind == kind && r.divergence == divergence && r.seed == seed,
        || {
            let t = std::time::Instant::now();
            let backend = BackendSpec::default();
            let plain = backend.device()?;
            let task = load_task(tweet_sentiment::NAME, seed, &plain)?;
            let base = load_base_policy(&task, seed, &plain)?;
            let context = base.model.config.max_position_embeddings;
            let align: Box<dyn RewardFn> = match target(kind, &args.reward, context, backend)? {
                Target::Pointwise(b) | Target::Rlhf(b) => b,
            };
            let Some(divergence) = divergence else {
                let eval = evaluate(&base.model, &base.model, &task, align.as_ref(), seed)?;
                return Ok(Run {
                    kind,
                    divergence: None,
                    seed,
                    eval,
                    target: None,
                    seconds: t.elapsed().as_secs_f64(),
                });
            };
            eprintln!(
                "== f-DPG {} on the {} target, seed {seed}",
                divergence.name(),
                kind.name()
            );
            let policy = checkpoint::load(
                tweet_sentiment::models_dir().join("base"),
                &backend.autodiff_device()?,
            )?;
            let mut config = FdpgConfig::default();
            config.divergence = divergence;
            config.kl_beta = args.beta;
            config.lr = args.lr;
            config.seed = seed;
            let mut trainer = FdpgTrainer::new(
                policy,
                base.tokenizer.clone(),
                target(kind, &args.reward, context, backend)?,
                config,
            )?;
            let mut rng = SeededRng::new(seed).fork("f-dpg-prompts");
            let mut stats: Vec<FdpgStats> = Vec::with_capacity(args.steps);
            let mut log = String::new();
            for step in 1..=args.steps {
                let prompts: Vec<String> = (0..32)
                    .map(|_| task.train_prompts[rng.below(task.train_prompts.len())].clone())
                    .collect();
                let s = trainer.step(&prompts)?;
                if !s.loss.is_finite() {
                    bail!("step {step}: the loss is not finite ({s:?})");
                }
                log.push_str(&serde_json::to_string(&s)?);
                log.push('\n');
                if step % 25 == 0 {
                    eprintln!(
                        "step {step}: reward {:.3}  KL(p‖π) {:.3}  TV {:.3}  log Ẑ {:.3}",
                        s.reward, s.estimates.kl_p_pi, s.estimates.tv_p_pi, s.log_z
                    );
                }
                stats.push(s);
            }
            std::fs::write(dir.join("metrics.jsonl"), log)?;
            let last = &stats[stats.len() - LAST_STEPS..];
            let mean = |f: &dyn Fn(&FdpgStats) -> f64| {
                MeanSe::of(&last.iter().map(f).collect::<Vec<_>>()).mean
            };
            let estimates = DivergenceEstimates {
                kl_p_pi: mean(&|s| s.estimates.kl_p_pi),
                tv_p_pi: mean(&|s| s.estimates.tv_p_pi),
                js_p_pi: mean(&|s| s.estimates.js_p_pi),
            };
            let policy = trainer.into_policy().valid();
            let eval = evaluate(&policy, &base.model, &task, align.as_ref(), seed)?;
            Ok(Run {
                kind,
                divergence: Some(divergence),
                seed,
                eval,
                target: Some(estimates),
                seconds: t.elapsed().as_secs_f64(),
            })
        },
    )
}

/// `mean ± SE` over the seeds of `f`.
fn over_seeds(runs: &[&Run], f: impl Fn(&Run) -> Option<f64>, digits: usize) -> String {
    let xs: Vec<f64> = runs.iter().filter_map(|r| f(r)).collect();
    if xs.is_empty() {
        return "–".into();
    }
    MeanSe::of(&xs).cell(digits)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let start = std::time::Instant::now();
    let mut runs = Vec::new();
    for &kind in &args.kinds {
        for &seed in &args.seeds {
            runs.push(run(&args, kind, None, seed)?);
            for &d in &args.divergences {
                runs.push(run(&args, kind, Some(d), seed)?);
            }
        }
    }
    let mut report = Report::new("f-DPG's four divergences on tweet-sentiment");
    report.paragraph(format!(
        "{} steps of 32 samples at lr {}, β = {} for the RLHF target (proxy `{}`), seeds {:?}. \
         Alignment: the constraint's acceptance rate (pointwise) or the proxy and gold scores \
         (RLHF) on 128 eval prompts × 2 samples; KL to the base policy (k1); divergences to the \
         target: the mean of the last {LAST_STEPS} steps' IS estimates; ± over seeds.",
        args.steps,
        args.lr,
        args.beta,
        args.reward.display(),
        args.seeds
    ));
    let headers = [
        "divergence",
        "alignment",
        "gold",
        "KL(p‖π)",
        "TV(p, π)",
        "JS(p, π)",
        "KL to base",
        "distinct-1",
        "distinct-2",
        "self-BLEU",
        "drift ppl",
    ];
    let mut printed = String::new();
    for &kind in &args.kinds {
        let mut rows = Vec::new();
        let mut plot = LinePlot::new(
            format!("f-DPG, {} target: alignment vs diversity", kind.name()),
            "distinct-2",
            "alignment",
        );
        for d in std::iter::once(None).chain(args.divergences.iter().copied().map(Some)) {
            let these: Vec<&Run> = runs
                .iter()
                .filter(|r| r.kind == kind && r.divergence == d)
                .collect();
            let align = |r: &Run| r.eval.proxy.map(|p| p.mean);
            rows.push(vec![
                d.map_or("base policy".into(), |d| d.name().to_string()),
                over_seeds(&these, align, 3),
                over_seeds(&these, |r| Some(r.eval.gold.mean), 3),
                over_seeds(&these, |r| r.target.map(|t| t.kl_p_pi), 3),
                over_seeds(&these, |r| r.target.map(|t| t.tv_p_pi), 3),
                over_seeds(&these, |r| r.target.map(|t| t.js_p_pi), 3),
                over_seeds(&these, |r| Some(r.eval.kl_k1.mean), 2),
                over_seeds(&these, |r| Some(r.eval.distinct_1), 3),
                over_seeds(&these, |r| Some(r.eval.distinct_2), 3),
                over_seeds(&these, |r| r.eval.self_bleu, 3),
                over_seeds(&these, |r| r.eval.drift_ppl, 1),
            ]);
            let pts: Vec<(f64, f64)> = these
                .iter()
                .filter_map(|r| Some((r.eval.distinct_2, align(r)?)))
                .collect();
            plot = plot.with_series(d.map_or("base".into(), |d| d.name().to_string()), pts);
        }
        let stem = format!("{}-alignment-diversity", kind.stem());
        plot.save_svg(args.out.join(format!("{stem}.svg")))?;
        plot.save_png(args.out.join(format!("{stem}.png")))?;
        report.paragraph(format!("**{} target**", kind.name()));
        report.table(&headers, &rows)?;
        report.image(kind.name(), &format!("{stem}.png"));
        printed.push_str(&format!(
            "\n{}\n{}\n",
            kind.name(),
            markdown_table(&headers, &rows)
        ));
    }
    report.write(&args.out)?;
    std::fs::write(
        args.out.join("runs.json"),
        serde_json::to_string_pretty(&runs)?,
    )?;
    println!("{printed}");
    println!(
        "{} runs in {:.1} min; report: {}",
        runs.len(),
        start.elapsed().as_secs_f64() / 60.0,
        args.out.join("report.md").display()
    );
    Ok(())
}
