//! Quark (Lu et al., NeurIPS 2022, "Quark: Controllable Text Generation with Reinforced
//! Unlearning") against PPO on `tweet-detox`: continue tweets that the toxicity model flags so
//! that the continuation is not toxic. Both optimise the task's gold reward `1 − P(toxic)` of
//! the continuation (the port of `alt-profanity-check`, as the paper optimises Perspective's
//! score), from the shared base policy. The paper's claim: Quark reduces toxicity at least as
//! well as PPO while keeping fluency and diversity.
//!
//!     cargo run --release --example quark -- [OUT] [--phases 6] [--steps 50] [--lr 1e-4] \
//!         [--iterations 30] [--seeds 0,1] [--reuse]
//!
//! - **Quark**: K = 5 reward tokens; the pool starts with 256 samples of the base policy, then
//!   `--phases` phases of 256 samples conditioned on the best token and `--steps` steps of 32
//!   pool samples (lr `--lr`, β = 0.05, α = 0.06); evaluated conditioned on the best token.
//! - **PPO**: the main job's PPO settings (32 prompts per iteration, 2 epochs, lr 2e-4, value
//!   model from the policy) at β = 0.05 for `--iterations` iterations against the same reward.
//!
//! Every policy — the base, PPO, Quark — is evaluated on the 240 eval prompts × 2 samples: mean
//! toxicity `P(toxic)` and the share of toxic continuations (`P(toxic) > 0.5`); fluency as the
//! perplexity of the continuations under the base policy (Quark's reward tokens suppressed);
//! drift (the policy's perplexity on 200 held-out human tweets); distinct-1/2. Writes the runs,
//! `report.md` and a plot into OUT (default `runs/quark`).

mod support;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use rlp::core::{BackendSpec, Completion, RewardFn, SeededRng};
use rlp::eval::teacher_forced::ScoringConfig;
use rlp::eval::{LinePlot, MeanSe, Report, distinct_n, markdown_table, perplexity};
use rlp::models::vocab::suppress_outputs;
use rlp::models::{CausalLm, GenerationConfig, TextTokenizer, checkpoint, generate_text};
use rlp::policy::ppo::ValueInit;
use rlp::policy::quark::{QuarkConfig, QuarkTrainer};
use rlp::tasks::{Task, load_base_policy, load_task};
use support::{MAX_NEW_TOKENS, cached, run_arm, study_ppo};

/// The task.
const TASK: &str = "tweet-detox";
/// A continuation is toxic when `P(toxic)` exceeds this.
const TOXIC: f64 = 0.5;
/// Samples per eval prompt.
const SAMPLES: usize = 2;

/// Quark against PPO on tweet-detox.
#[derive(clap::Parser)]
struct Args {
    /// Output directory.
    #[arg(default_value = "runs/quark")]
    out: PathBuf,
    /// Quark's exploration phases.
    #[arg(long, default_value_t = 6)]
    phases: usize,
    /// Training steps per phase.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Quark's learning rate.
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// PPO iterations of the comparison arm.
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    seeds: Vec<u64>,
    /// Keep finished arms found in OUT.
    #[arg(long)]
    reuse: bool,
}

/// The command line, checked.
fn parse_args() -> Result<Args> {
    let args: Args = clap::Parser::parse();
    if args.phases == 0 || args.steps == 0 || args.iterations == 0 || args.seeds.is_empty() {
        bail!("--phases, --steps, --iterations and --seeds must be non-empty");
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        bail!("--lr must be a positive number, got {}", args.lr);
    }
    Ok(args)
}

/// One policy's evaluation (`eval.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Eval {
    method: String,
    seed: u64,
    /// Mean `P(toxic)` ± SE over continuations.
    toxicity: MeanSe,
    /// Share of continuations with `P(toxic) > 0.5`.
    toxic_share: f64,
    /// Perplexity of the continuations under the base policy.
    fluency_ppl: f64,
    /// The policy's perplexity on held-out human tweets.
    drift_ppl: f64,
    distinct_1: f64,
    distinct_2: f64,
    seconds: f64,
}

/// The eval prompts, each `SAMPLES` times.
fn eval_rows(task: &Task) -> Vec<String> {
    task.eval_prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), SAMPLES))
        .collect()
}

/// Scores `completions` and measures fluency (under `base`), drift (of `policy`, through
/// `tokenizer`) and diversity.
fn measure(
    method: &str,
    seed: u64,
    completions: &[Completion],
    task: &Task,
    base: &(CausalLm, TextTokenizer),
    policy: (&CausalLm, &TextTokenizer),
    seconds: f64,
) -> Result<Eval> {
    let prompts: Vec<String> = completions.iter().map(|c| c.prompt.clone()).collect();
    let texts: Vec<String> = completions.iter().map(|c| c.text.clone()).collect();
    let gold = task
        .gold
        .score(&prompts, &texts)
        .map_err(|e| anyhow::anyhow!("gold: {e}"))?;
    let toxic: Vec<f64> = gold.iter().map(|&g| 1.0 - f64::from(g)).collect();
    let scoring = ScoringConfig::default();
    let nonempty: Vec<String> = prompts
        .iter()
        .zip(&texts)
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(p, t)| format!("{p}{t}"))
        .collect();
    let fluency_ppl = perplexity(&base.0, &base.1, &nonempty, &scoring)?.ppl;
    let drift_ppl = perplexity(policy.0, policy.1, &task.drift[..200], &scoring)?.ppl;
    Ok(Eval {
        method: method.to_string(),
        seed,
        toxicity: MeanSe::of(&toxic),
        toxic_share: toxic.iter().filter(|&&t| t > TOXIC).count() as f64 / toxic.len() as f64,
        fluency_ppl,
        drift_ppl,
        distinct_1: distinct_n(&texts, 1)?,
        distinct_2: distinct_n(&texts, 2)?,
        seconds,
    })
}

/// Samples `SAMPLES` continuations per eval prompt from a plain `policy`.
fn sample_plain(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    task: &Task,
    seed: u64,
) -> Result<Vec<Completion>> {
    let generation = GenerationConfig::sampling(MAX_NEW_TOKENS, 1.0);
    let mut rng = SeededRng::new(seed).fork("quark-eval");
    Ok(generate_text(
        policy,
        tokenizer,
        &eval_rows(task),
        &generation,
        &mut rng,
    )?)
}

/// Quark with `seed` (or, with `--reuse`, its recorded evaluation).
fn quark(args: &Args, seed: u64, task: &Task, base: &(CausalLm, TextTokenizer)) -> Result<Eval> {
    // The settings name the directory, so `--reuse` never returns a run made with others.
    let dir = args.out.join(format!(
        "quark-p{}-s{}-lr{}-seed{seed}",
        args.phases, args.steps, args.lr
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    cached(
        &dir.join("eval.json"),
        args.reuse,
        |e: &Eval| e.seed == seed && e.method == "Quark",
        || {
            let t = std::time::Instant::now();
            let backend = BackendSpec::default();
            let policy = checkpoint::load(
                rlp::tasks::tweet_sentiment::models_dir().join("base"),
                &backend.autodiff_device()?,
            )?;
            let plain = backend.device()?;
            let reward_task = load_task(TASK, seed, &plain)?;
            let mut config = QuarkConfig::default();
            config.lr = args.lr;
            config.samples_per_phase = 256;
            config.steps_per_phase = args.steps;
            config.batch_size = 32;
            config.max_new_tokens = MAX_NEW_TOKENS;
            config.seed = seed;
            let reward: Box<dyn RewardFn> = reward_task.gold;
            let mut trainer = QuarkTrainer::new(policy, base.1.clone(), reward, config)?;
            let mut rng = SeededRng::new(seed).fork("quark-prompts");
            let mut draw = |n: usize| -> Vec<String> {
                (0..n)
                    .map(|_| task.train_prompts[rng.below(task.train_prompts.len())].clone())
                    .collect()
            };
            // The pool starts with 256 samples of the base policy (the first exploration).
            let s = trainer.explore(&draw(256))?;
            eprintln!(
                "Quark seed {seed}: initial pool {} (mean reward {:.3})",
                s.pool_size, s.pool_mean_reward
            );
            let mut log = String::new();
            for phase in 1..=args.phases {
                let s = trainer.phase(&draw(256))?;
                eprintln!(
                    "Quark seed {seed}, phase {phase}: best-token samples' reward {:.3}, pool {} \
                     (mean {:.3}), loss {:.3} (NLL {:.3}, KL {:.3}, H {:.3})",
                    s.explore.mean_reward,
                    s.explore.pool_size,
                    s.explore.pool_mean_reward,
                    s.train.loss,
                    s.train.nll,
                    s.train.kl,
                    s.train.entropy
                );
                log.push_str(&serde_json::to_string(&s)?);
                log.push('\n');
            }
            std::fs::write(dir.join("phases.jsonl"), log)?;
            let mut eval_rng = SeededRng::new(seed).fork("quark-eval");
            let completions = trainer.generate_best(&eval_rows(task), &mut eval_rng)?;
            let policy = suppress_outputs(&trainer.policy().valid(), trainer.original_vocab_size());
            measure(
                "Quark",
                seed,
                &completions,
                task,
                base,
                (&policy, trainer.tokenizer()),
                t.elapsed().as_secs_f64(),
            )
        },
    )
}

/// PPO with `seed` against the same reward.
fn ppo(args: &Args, seed: u64, task: &Task, base: &(CausalLm, TextTokenizer)) -> Result<Eval> {
    let dir = args.out.join(format!("ppo-seed{seed}"));
    let mut config = study_ppo(
        "gold",
        0.05,
        args.iterations,
        args.iterations,
        seed,
        BackendSpec::default(),
    );
    config.task = TASK.into();
    config.eval_prompts = 64;
    config.ppo.value_init = ValueInit::Policy;
    let t = std::time::Instant::now();
    run_arm(&config, &dir, args.reuse)?;
    let plain = BackendSpec::default().device()?;
    let policy = checkpoint::load(dir.join("policy"), &plain)?;
    let completions = sample_plain(&policy, &base.1, task, seed)?;
    measure(
        "PPO",
        seed,
        &completions,
        task,
        base,
        (&policy, &base.1),
        t.elapsed().as_secs_f64(),
    )
}

/// A `mean ± SE` cell over seeds.
fn cell(evals: &[&Eval], f: impl Fn(&Eval) -> f64, digits: usize) -> String {
    MeanSe::of(&evals.iter().map(|e| f(e)).collect::<Vec<_>>()).cell(digits)
}

fn write_report(args: &Args, evals: &[Eval], out: &Path) -> Result<()> {
    let headers = [
        "method",
        "seeds",
        "toxicity P(toxic)",
        "toxic share (%)",
        "fluency ppl (under the base)",
        "drift ppl",
        "distinct-1",
        "distinct-2",
    ];
    let mut rows = Vec::new();
    let mut plot = LinePlot::new(
        "tweet-detox: toxicity vs fluency (each seed)",
        "fluency: perplexity of the continuations under the base policy",
        "mean P(toxic)",
    );
    for method in ["base policy", "PPO", "Quark"] {
        let these: Vec<&Eval> = evals.iter().filter(|e| e.method == method).collect();
        if these.is_empty() {
            continue;
        }
        rows.push(vec![
            method.to_string(),
            these.len().to_string(),
            cell(&these, |e| e.toxicity.mean, 4),
            cell(&these, |e| 100.0 * e.toxic_share, 2),
            cell(&these, |e| e.fluency_ppl, 1),
            cell(&these, |e| e.drift_ppl, 1),
            cell(&these, |e| e.distinct_1, 3),
            cell(&these, |e| e.distinct_2, 3),
        ]);
        plot = plot.with_series(
            method,
            these
                .iter()
                .map(|e| (e.fluency_ppl, e.toxicity.mean))
                .collect(),
        );
    }
    plot.save_svg(out.join("toxicity_fluency.svg"))?;
    plot.save_png(out.join("toxicity_fluency.png"))?;
    let mut report = Report::new("Quark vs PPO on tweet-detox");
    report.paragraph(format!(
        "Quark: {} phases (256 best-token samples, {} steps of 32 at lr {}) after a 256-sample base pool; \
         PPO: {} iterations of 32 prompts at β = 0.05; both against 1 − P(toxic); seeds {:?}; \
         240 eval prompts × {SAMPLES} samples; ± over seeds.",
        args.phases, args.steps, args.lr, args.iterations, args.seeds
    ));
    report.table(&headers, &rows)?;
    report.image("toxicity vs fluency", "toxicity_fluency.png");
    report.write(out)?;
    println!("{}", markdown_table(&headers, &rows));
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let start = std::time::Instant::now();
    let plain = BackendSpec::default().device()?;
    let mut evals = Vec::new();
    for &seed in &args.seeds {
        let task = load_task(TASK, seed, &plain)?;
        let b = load_base_policy(&task, seed, &plain)?;
        let base = (b.model, b.tokenizer);
        let dir = args.out.join(format!("base-seed{seed}"));
        std::fs::create_dir_all(&dir)?;
        evals.push(cached(
            &dir.join("eval.json"),
            args.reuse,
            |e: &Eval| e.seed == seed,
            || {
                let t = std::time::Instant::now();
                let c = sample_plain(&base.0, &base.1, &task, seed)?;
                measure(
                    "base policy",
                    seed,
                    &c,
                    &task,
                    &base,
                    (&base.0, &base.1),
                    t.elapsed().as_secs_f64(),
                )
            },
        )?);
        evals.push(ppo(&args, seed, &task, &base)?);
        evals.push(quark(&args, seed, &task, &base)?);
    }
    write_report(&args, &evals, &args.out)?;
    println!(
        "{:.1} min; report: {}",
        start.elapsed().as_secs_f64() / 60.0,
        args.out.join("report.md").display()
    );
    Ok(())
}
