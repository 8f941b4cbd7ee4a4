//! `rlp bon`: best-of-n evaluation of a policy (default: the task's base policy). `n` responses
//! are sampled per eval prompt and scored by the proxy (a reward-model directory, or `gold`)
//! and the gold scorer; for each `n` in the powers of two up to `N` (and `N`), the unbiased
//! best-of-n estimator gives the expected gold and proxy score of the proxy-best of `n`, per
//! prompt then averaged, against best-of-n's analytic KL `log n − (n−1)/n`.
//!
//! The run directory receives `config.toml`, `bon.jsonl` (one line per `n`), the plot
//! `bon.{svg,png}` (gold and proxy vs KL) and `report.md`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use rlp_core::{BackendSpec, RewardFn, SeededRng};
use rlp_eval::error::score_checked;
use rlp_eval::{BonCurvePoint, BonPoint, LinePlot, Report, candidate_counts, mean_bon_curve};
use rlp_models::{CausalLm, GenerationConfig, TextTokenizer};
use rlp_policy_opt::best_of_n::best_of_n;
use rlp_tasks::{DEFAULT_TASK, load_task};
use serde::{Deserialize, Serialize};

use super::{load_policy, load_proxy, progress_bar, read_toml, start_run_dir};

/// Every setting of a best-of-n evaluation (`rlp bon --config FILE`; flags override fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BonRunConfig {
    /// Task whose eval prompts and gold scorer are used.
    pub task: String,
    /// Policy checkpoint directory with `tokenizer.json` (default: the task's base policy).
    pub policy: Option<PathBuf>,
    /// The proxy that picks the best: a reward-model directory, or `gold`.
    pub reward: String,
    /// Samples per prompt `N` (the largest `n`).
    pub n: usize,
    /// Eval prompts used (from the start of the task's eval split).
    pub prompts: usize,
    /// At most this many new tokens per response.
    pub max_new_tokens: usize,
    /// Sampling temperature.
    pub temperature: f32,
    /// Backend.
    pub backend: BackendSpec,
    /// Seed of the task (where it is generated) and of sampling.
    pub seed: u64,
}

impl Default for BonRunConfig {
    fn default() -> Self {
        Self {
            task: DEFAULT_TASK.into(),
            policy: None,
            reward: "gold".into(),
            n: 64,
            prompts: 32,
            max_new_tokens: 24,
            temperature: 1.0,
            backend: BackendSpec::default(),
            seed: 0,
        }
    }
}

impl BonRunConfig {
    /// Reads a TOML file; errors name the file (and the key, as the TOML parser reports it).
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "best-of-n")
    }
}

/// `n` samples per prompt drawn once from a policy, scored by the gold scorer and by any
/// number of proxies: the raw material of best-of-n curves against several proxies (or
/// ensemble rules) from the same samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredSamples {
    /// Samples per prompt.
    pub n: usize,
    /// The prompts.
    pub prompts: Vec<String>,
    /// `samples[prompt][i]`.
    pub samples: Vec<Vec<String>>,
    /// `gold[prompt][i]`.
    pub gold: Vec<Vec<f64>>,
    /// `proxies[proxy][prompt][i]`, in the order the proxies were given.
    pub proxies: Vec<Vec<Vec<f64>>>,
    /// Seconds spent sampling and scoring.
    pub seconds: f64,
}

/// Draws `n` samples per prompt from `policy` (one batched generation per prompt, the rows'
/// random streams from `rng`) and scores every sample by `gold` and by each of `proxies`, with
/// a progress bar. Errors: `n = 0`, generation errors, a failing or non-finite score.
#[allow(clippy::too_many_arguments)]
pub fn sample_and_score(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    n: usize,
    generation: &GenerationConfig,
    gold: &dyn RewardFn,
    proxies: &[&dyn RewardFn],
    rng: &mut SeededRng,
) -> Result<ScoredSamples> {
    let t = std::time::Instant::now();
    let mut out = ScoredSamples {
        n,
        prompts: prompts.to_vec(),
        samples: Vec::with_capacity(prompts.len()),
        gold: Vec::with_capacity(prompts.len()),
        proxies: vec![Vec::with_capacity(prompts.len()); proxies.len()],
        seconds: 0.0,
    };
    let bar = progress_bar(prompts.len());
    bar.set_message(format!("sampling {n} per prompt"));
    for prompt in prompts {
        let b = best_of_n(
            policy,
            tokenizer,
            std::slice::from_ref(prompt),
            n,
            generation,
            gold,
            rng,
        )?
        .remove(0);
        let rows = vec![prompt.clone(); n];
        for (proxy, scores) in proxies.iter().zip(out.proxies.iter_mut()) {
            scores.push(score_checked(*proxy, &rows, &b.samples)?);
        }
        out.gold
            .push(b.scores.iter().map(|&s| f64::from(s)).collect());
        out.samples.push(b.samples);
        bar.inc(1);
    }
    bar.finish_and_clear();
    out.seconds = t.elapsed().as_secs_f64();
    Ok(out)
}

/// Runs best-of-n as `config` says, writing into `out`; the averaged curve.
pub fn run_bon(config: &BonRunConfig, out: &Path) -> Result<Vec<BonCurvePoint>> {
    if config.n == 0 || config.prompts == 0 {
        bail!("n and prompts must be at least 1");
    }
    start_run_dir(out, config)?;
    let device = config.backend.device()?;
    let task = load_task(&config.task, config.seed, &device)?;
    let (policy, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seed, &device)?;
    let proxy = load_proxy(
        &config.reward,
        policy.config.max_position_embeddings,
        &device,
    )?;
    let prompts = &task.eval_prompts[..config.prompts.min(task.eval_prompts.len())];
    let generation =
        rlp_models::GenerationConfig::sampling(config.max_new_tokens, config.temperature);
    let mut rng = SeededRng::new(config.seed).fork("bon-run");
    let proxies: Vec<&dyn RewardFn> = proxy.iter().map(|p| p as &dyn RewardFn).collect();
    let scored = sample_and_score(
        &policy,
        &tokenizer,
        prompts,
        config.n,
        &generation,
        task.gold.as_ref(),
        &proxies,
        &mut rng,
    )?;
    let by = scored.proxies.first().unwrap_or(&scored.gold);
    let points = mean_bon_curve(by, &scored.gold, &candidate_counts(config.n))?;
    rlp_core::jsonl::write_jsonl(out.join("bon.jsonl"), &points)?;
    write_report(config, prompts.len(), &points, out)?;
    Ok(points)
}

/// `report.md` and the plot.
fn write_report(
    config: &BonRunConfig,
    prompts: usize,
    points: &[BonCurvePoint],
    out: &Path,
) -> Result<()> {
    let title = format!("best-of-n on {} against {}", config.task, config.reward);
    let curve: Vec<BonPoint> = points
        .iter()
        .map(|p| BonPoint {
            n: p.n,
            kl: p.kl,
            gold: p.gold,
            proxy: p.proxy,
        })
        .collect();
    let plot = LinePlot::gold_proxy_vs_kl(&title, &curve);
    plot.save_svg(out.join("bon.svg"))?;
    plot.save_png(out.join("bon.png"))?;
    let mut report = Report::new(title);
    report.paragraph(format!(
        "{} samples per prompt on {prompts} eval prompts at temperature {}, at most {} new \
         tokens; seed {}. Unbiased best-of-n estimates, per prompt then averaged (± SE over \
         prompts); KL is best-of-n's analytic `log n − (n−1)/n`.",
        config.n, config.temperature, config.max_new_tokens, config.seed
    ));
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.n.to_string(),
                format!("{:.3}", p.kl),
                format!("{:.3} ± {:.3}", p.gold, p.gold_se),
                format!("{:.3} ± {:.3}", p.proxy, p.proxy_se),
            ]
        })
        .collect();
    report.table(&["n", "KL (nats)", "gold", "proxy"], &rows)?;
    report.image("gold and proxy vs KL", "bon.png");
    report.write(out)?;
    Ok(())
}
