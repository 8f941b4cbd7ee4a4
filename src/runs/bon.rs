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
    /// Expected gold gain of the proxy-best of `n` over one sample (`n = 1`), mean over prompts.
    pub gold_gain: f64,
    /// Standard error of `gold_gain` over prompts (paired by prompt, so smaller than
    /// `gold_se`).
    pub gold_gain_se: f64,
    /// Expected proxy score of the proxy-best of `n`, mean over prompts.
    pub proxy: f64,
    /// Standard error of `proxy` over prompts.
    pub proxy_se: f64,
}

/// `1, 2, 4, …` up to `big_n`, and `big_n` itself.
pub fn candidate_counts(big_n: usize) -> Vec<usize> {
    let mut ns: Vec<usize> = (0..usize::BITS)
        .map(|k| 1usize << k)
        .take_while(|&n| n <= big_n)
        .collect();
    if ns.last() != Some(&big_n) {
        ns.push(big_n);
    }
    ns
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

/// The unbiased best-of-n estimates (`rlp_eval::best_of_n_curve`) per prompt for each `n` of
/// `ns`, averaged over prompts with standard errors; `proxy[prompt]` and `gold[prompt]` are the
/// same prompt's samples. The gold gain is measured against `n = 1` of the same prompt, so `ns`
/// need not contain 1.
pub fn mean_bon_curve(
    proxy: &[Vec<f64>],
    gold: &[Vec<f64>],
    ns: &[usize],
) -> Result<Vec<BonCurvePoint>> {
    if proxy.is_empty() || proxy.len() != gold.len() {
        bail!(
            "best-of-n curve: {} prompts of proxy scores and {} of gold scores",
            proxy.len(),
            gold.len()
        );
    }
    let with_one: Vec<usize> = std::iter::once(1).chain(ns.iter().copied()).collect();
    let curves: Vec<Vec<BonPoint>> = proxy
        .iter()
        .zip(gold)
        .map(|(p, g)| best_of_n_curve(p, g, &with_one))
        .collect::<std::result::Result<_, _>>()?;
    Ok(ns
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let column = |f: &dyn Fn(&Vec<BonPoint>) -> f64| {
                MeanSe::of(&curves.iter().map(f).collect::<Vec<_>>())
            };
            let gold = column(&|c| c[i + 1].gold);
            let gain = column(&|c| c[i + 1].gold - c[0].gold);
            let proxy = column(&|c| c[i + 1].proxy);
            BonCurvePoint {
                n,
                kl: curves[0][i + 1].kl,
                gold: gold.mean,
                gold_se: gold.se,
                gold_gain: gain.mean,
                gold_gain_se: gain.se,
                proxy: proxy.mean,
                proxy_se: proxy.se,
            }
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_counts_are_powers_of_two_and_n() {
        assert_eq!(candidate_counts(1), vec![1]);
        assert_eq!(candidate_counts(8), vec![1, 2, 4, 8]);
        assert_eq!(candidate_counts(10), vec![1, 2, 4, 8, 10]);
    }

    // Golden: two prompts, N = 2.
    // A: proxy [1, 2], gold [0.0, 1.0]; B: proxy [2, 1], gold [0.5, 0.3].
    // n = 1 is the mean of the samples: gold A 0.5, B 0.4 → 0.45 ± sd(0.5, 0.4)/√2 = 0.05;
    //   proxy 1.5 and 1.5; gain 0. KL = log 1 − 0 = 0.
    // n = 2 takes the proxy-best: gold A 1.0, B 0.5 → 0.75 ± 0.353553/√2 = 0.25; proxy 2 ± 0;
    //   gain A 0.5, B 0.1 → 0.3 ± 0.282843/√2 = 0.2. KL = log 2 − 1/2 = 0.193147.
    #[test]
    fn mean_bon_curve_golden() {
        let proxy = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        let gold = vec![vec![0.0, 1.0], vec![0.5, 0.3]];
        let c = mean_bon_curve(&proxy, &gold, &[1, 2]).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert_eq!((c[0].n, c[1].n), (1, 2));
        assert!(close(c[0].kl, 0.0) && close(c[1].kl, 0.193147), "{c:?}");
        assert!(close(c[0].gold, 0.45) && close(c[0].gold_se, 0.05), "{c:?}");
        assert!(close(c[0].gold_gain, 0.0) && close(c[0].gold_gain_se, 0.0));
        assert!(close(c[0].proxy, 1.5) && close(c[0].proxy_se, 0.0));
        assert!(close(c[1].gold, 0.75) && close(c[1].gold_se, 0.25), "{c:?}");
        assert!(
            close(c[1].gold_gain, 0.3) && close(c[1].gold_gain_se, 0.2),
            "{c:?}"
        );
        assert!(close(c[1].proxy, 2.0) && close(c[1].proxy_se, 0.0));
        // Without n = 1 in `ns` the gain is still measured against one sample.
        let only = mean_bon_curve(&proxy, &gold, &[2]).unwrap();
        assert_eq!(only, vec![c[1]]);
        // Mismatched prompts and bad n are errors.
        assert!(mean_bon_curve(&proxy, &gold[..1], &[1]).is_err());
        assert!(mean_bon_curve(&proxy, &gold, &[3]).is_err());
    }
}
