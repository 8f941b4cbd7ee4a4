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
use rlp_eval::{BonPoint, LinePlot, MeanSe, Report, best_of_n_curve};
use rlp_policy_opt::best_of_n::best_of_n;
use rlp_tasks::{DEFAULT_TASK, load_task};
use serde::{Deserialize, Serialize};

use super::{load_policy, load_proxy, progress_bar, read_toml, sampling, start_run_dir};

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

/// One point of the averaged curve (a line of `bon.jsonl`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BonCurvePoint {
    /// Number of candidates.
    pub n: usize,
    /// Best-of-n's analytic KL in nats.
    pub kl: f64,
    /// Expected gold score of the proxy-best of `n`, mean over prompts.
    pub gold: f64,
    /// Standard error of `gold` over prompts.
    pub gold_se: f64,
    /// Expected proxy score of the proxy-best of `n`, mean over prompts.
    pub proxy: f64,
    /// Standard error of `proxy` over prompts.
    pub proxy_se: f64,
}

/// `1, 2, 4, …` up to `big_n`, and `big_n` itself.
fn candidate_counts(big_n: usize) -> Vec<usize> {
    let mut ns: Vec<usize> = (0..usize::BITS)
        .map(|k| 1usize << k)
        .take_while(|&n| n <= big_n)
        .collect();
    if ns.last() != Some(&big_n) {
        ns.push(big_n);
    }
    ns
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
    let reward: &dyn RewardFn = match &proxy {
        Some(p) => p,
        None => task.gold.as_ref(),
    };
    let prompts = &task.eval_prompts[..config.prompts.min(task.eval_prompts.len())];
    let ns = candidate_counts(config.n);
    let generation = sampling(config.max_new_tokens, config.temperature);
    let mut rng = SeededRng::new(config.seed).fork("bon-run");
    let bar = progress_bar(prompts.len());
    let mut curves: Vec<Vec<BonPoint>> = Vec::with_capacity(prompts.len());
    for prompt in prompts {
        let one = std::slice::from_ref(prompt);
        let b = best_of_n(
            &policy,
            &tokenizer,
            one,
            config.n,
            &generation,
            reward,
            &mut rng,
        )?
        .remove(0);
        let proxy_scores: Vec<f64> = b.scores.iter().map(|&s| f64::from(s)).collect();
        let gold = match proxy {
            Some(_) => score_checked(
                task.gold.as_ref(),
                &vec![prompt.clone(); config.n],
                &b.samples,
            )?,
            None => proxy_scores.clone(),
        };
        curves.push(best_of_n_curve(&proxy_scores, &gold, &ns)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let points: Vec<BonCurvePoint> = ns
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let gold = MeanSe::of(&curves.iter().map(|c| c[i].gold).collect::<Vec<_>>());
            let proxy = MeanSe::of(&curves.iter().map(|c| c[i].proxy).collect::<Vec<_>>());
            BonCurvePoint {
                n,
                kl: curves[0][i].kl,
                gold: gold.mean,
                gold_se: gold.se,
                proxy: proxy.mean,
                proxy_se: proxy.se,
            }
        })
        .collect();
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
