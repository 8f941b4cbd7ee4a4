//! Example support, not library API: the pieces the paper examples on `tweet-sentiment`
//! (Elastic Reset, SALSA, reward-model ensembles, the overoptimisation scaling laws) share —
//! one PPO arm with the main job's PPO settings, base-policy samples scored by gold and several
//! proxies for best-of-n, and steps cached in a study's output directory so that a long study
//! can be resumed.
#![allow(dead_code)] // each example uses a part of it

use rlp::core::With;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rlp::core::{BackendSpec, RewardFn, SeededRng};
use rlp::eval::{EvalConfig, EvalSummary};
use rlp::policy::ppo::{KlControl, PpoConfig, ValueInit};
use rlp::reward::LearnedReward;
use rlp::tasks::{load_base_policy, load_task, tweet_sentiment};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use rlp::runs::bon::{ScoredSamples, sample_and_score};
use rlp::runs::ppo::{PpoRunConfig, run_ppo};

/// The command-line arguments every overoptimisation study shares (flattened into the
/// examples' own with `#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct StudyArgs {
    /// Training pairs (preference JSONL: gold labels with 25% flipped, as docs/tasks.md
    /// (tweet-sentiment) makes them).
    #[arg(long)]
    pub train: PathBuf,
    /// Clean held-out pairs for agreement with gold.
    #[arg(long)]
    pub eval: PathBuf,
    /// Seed of the reward models and of best-of-n's samples, and of the PPO runs unless the
    /// study takes PPO seeds of its own.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Eval prompts of the best-of-n study.
    #[arg(long, default_value_t = 32)]
    pub bon_prompts: usize,
    /// Samples per best-of-n prompt `N` (the largest `n`).
    #[arg(long, default_value_t = 256)]
    pub bon_n: usize,
    /// PPO iterations per run.
    #[arg(long, default_value_t = 40)]
    pub ppo_iterations: usize,
    /// Evaluate PPO every this many iterations.
    #[arg(long, default_value_t = 5)]
    pub eval_every: usize,
    /// Eval prompts per PPO evaluation (2 samples each).
    #[arg(long, default_value_t = 128)]
    pub eval_prompts: usize,
    /// Backend: flex, ndarray, wgpu, cuda[:N].
    #[arg(long, default_value = "flex")]
    pub backend: BackendSpec,
    /// Keep finished steps found in the output directory.
    #[arg(long)]
    pub reuse: bool,
}

impl StudyArgs {
    /// Checks the best-of-n counts (`N ≥ 2`, at least one prompt) and the PPO schedule.
    pub fn validate(&self) -> Result<()> {
        if self.bon_n < 2 || self.bon_prompts == 0 {
            bail!("--bon-n must be at least 2 and --bon-prompts at least 1");
        }
        if self.ppo_iterations == 0 || self.eval_every == 0 || self.eval_prompts == 0 {
            bail!("--ppo-iterations, --eval-every and --eval-prompts must be at least 1");
        }
        Ok(())
    }
}

/// New tokens per response in every study (the PPO and best-of-n runs of docs/results/).
pub const MAX_NEW_TOKENS: usize = 24;

/// One PPO arm on `tweet-sentiment` against `reward` (a reward-model directory, `gold`, or
/// `ensemble` with [`PpoRunConfig::ensemble`] set by the caller) with the main job's PPO
/// settings: 32 prompts per iteration, 2 PPO epochs of minibatch 16, lr 2e-4, at most
/// [`MAX_NEW_TOKENS`] new tokens, a fixed KL coefficient `beta` against the starting policy,
/// the value model from the reward model. Evaluated before the first iteration, every
/// `eval_every` iterations and after the last, on 128 eval prompts × 2 samples (gold ± SE,
/// proxy, KL, drift on 200 held-out tweets); no final win-rates. `seed` seeds the prompt order,
/// sampling and the evaluation.
pub fn study_ppo(
    reward: impl Into<String>,
    beta: f64,
    iterations: usize,
    eval_every: usize,
    seed: u64,
    backend: BackendSpec,
) -> PpoRunConfig {
    PpoRunConfig {
        task: tweet_sentiment::NAME.into(),
        reward: reward.into(),
        iterations,
        eval_every,
        eval_prompts: 128,
        drift_texts: 200,
        final_win_rates: false,
        backend,
        seed,
        ppo: PpoConfig::default().with(|c| {
            c.rollout_batch_size = 32;
            c.mini_batch_size = 16;
            c.ppo_epochs = 2;
            c.lr = 2e-4;
            c.max_new_tokens = MAX_NEW_TOKENS;
            c.kl = KlControl::Fixed { beta };
            c.value_init = ValueInit::RewardModel;
            c.seed = seed;
        }),
        eval: study_eval(seed),
        ..Default::default()
    }
}

/// The studies' evaluation settings: 2 samples per prompt at temperature 1, at most
/// [`MAX_NEW_TOKENS`] new tokens, seeded by `seed`.
pub fn study_eval(seed: u64) -> EvalConfig {
    EvalConfig::default().with(|c| {
        c.samples_per_prompt = 2;
        c.max_new_tokens = MAX_NEW_TOKENS;
        c.seed = seed;
    })
}

/// A step's result kept as JSON in `path`: read back when `reuse` is set, the file exists and
/// `keep` accepts what it holds; otherwise computed by `compute` and written.
pub fn cached<T: Serialize + DeserializeOwned>(
    path: &Path,
    reuse: bool,
    keep: impl Fn(&T) -> bool,
    compute: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if reuse && path.is_file() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let value: T =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if keep(&value) {
            return Ok(value);
        }
    }
    let value = compute()?;
    std::fs::write(path, serde_json::to_string(&value)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(value)
}

/// `n` samples per prompt from `tweet-sentiment`'s base policy (temperature 1, at most
/// [`MAX_NEW_TOKENS`] new tokens) on the first `prompts` eval prompts, scored by the gold
/// scorer and by each reward-model directory of `proxies` (context clipped to the policy's);
/// the random stream is `seed` forked by `stream`.
pub fn base_policy_samples(
    prompts: usize,
    n: usize,
    proxies: &[PathBuf],
    seed: u64,
    stream: &str,
    backend: BackendSpec,
) -> Result<ScoredSamples> {
    let device = backend.device()?;
    let task = load_task(tweet_sentiment::NAME, seed, &device)?;
    let policy = load_base_policy(&task, seed, &device)?;
    if prompts == 0 || prompts > task.eval_prompts.len() {
        bail!(
            "{prompts} best-of-n prompts: choose 1 to {} (the eval prompts)",
            task.eval_prompts.len()
        );
    }
    let context = policy.model.config.max_position_embeddings;
    let models: Vec<LearnedReward> = proxies
        .iter()
        .map(|dir| {
            let mut r = LearnedReward::load(dir, &device)
                .with_context(|| format!("loading {}", dir.display()))?;
            r.max_len = r.max_len.min(context);
            Ok(r)
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&dyn RewardFn> = models.iter().map(|m| m as &dyn RewardFn).collect();
    sample_and_score(
        &policy.model,
        &policy.tokenizer,
        &task.eval_prompts[..prompts],
        n,
        &rlp::models::GenerationConfig::sampling(MAX_NEW_TOKENS, 1.0),
        task.gold.as_ref(),
        &refs,
        &mut SeededRng::new(seed).fork(stream),
    )
}

/// [`base_policy_samples`] kept as JSON in `path` ([`cached`]): reused when `reuse` is set and
/// the file holds `n` samples for `prompts` prompts scored by as many proxies.
#[allow(clippy::too_many_arguments)]
pub fn cached_base_policy_samples(
    path: &Path,
    reuse: bool,
    prompts: usize,
    n: usize,
    proxies: &[PathBuf],
    seed: u64,
    stream: &str,
    backend: BackendSpec,
) -> Result<ScoredSamples> {
    cached(
        path,
        reuse,
        |s: &ScoredSamples| s.n == n && s.gold.len() == prompts && s.proxies.len() == proxies.len(),
        || base_policy_samples(prompts, n, proxies, seed, stream, backend),
    )
}

/// A finished PPO arm (`arm.json` in its run directory): its config, its evaluations and how
/// long it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmRun {
    /// What ran.
    pub config: PpoRunConfig,
    /// `(iteration, summary)` of every evaluation.
    pub evals: Vec<(usize, EvalSummary)>,
    /// Seconds the run took.
    pub seconds: f64,
}

/// Runs PPO as `config` says into `out` (or, with `reuse`, reads `out/arm.json` when it records
/// a finished run of the same config).
pub fn run_arm(config: &PpoRunConfig, out: &Path, reuse: bool) -> Result<ArmRun> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    cached(
        &out.join("arm.json"),
        reuse,
        |a: &ArmRun| a.config == *config,
        || {
            let t = std::time::Instant::now();
            let report = run_ppo(config, out, false)?;
            Ok(ArmRun {
                config: config.clone(),
                evals: report.evals,
                seconds: t.elapsed().as_secs_f64(),
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_reuses_only_what_it_is_told_to_keep() {
        let dir = rlp::core::ScratchDir::new("study-cached").unwrap();
        let path = dir.path().join("step.json");
        let calls = std::cell::Cell::new(0);
        let compute = |v: u32| {
            calls.set(calls.get() + 1);
            Ok(v)
        };
        assert_eq!(cached(&path, true, |_| true, || compute(1)).unwrap(), 1);
        // Kept: read back, not recomputed.
        assert_eq!(
            cached(&path, true, |&v: &u32| v == 1, || compute(2)).unwrap(),
            1
        );
        assert_eq!(calls.get(), 1);
        // Rejected by `keep`, or reuse off: recomputed and rewritten.
        assert_eq!(
            cached(&path, true, |&v: &u32| v == 7, || compute(2)).unwrap(),
            2
        );
        assert_eq!(cached(&path, false, |_| true, || compute(3)).unwrap(), 3);
        assert_eq!(calls.get(), 3);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "3");
        // A corrupt record is an error naming the file.
        std::fs::write(&path, "{").unwrap();
        let e = cached(&path, true, |_: &u32| true, || compute(4)).unwrap_err();
        assert!(format!("{e:#}").contains("step.json"), "{e:#}");
    }
}
