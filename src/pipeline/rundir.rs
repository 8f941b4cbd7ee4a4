//! A finished pipeline run read back from its directory — its config, `D`, the first reward
//! model `r` and a seed's policy samples `P` — for experiments on the retraining step alone
//! (`examples/rlp_uml.rs`, `examples/rlp_spg.rs`), plus the reward-model diagnostic on `P`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use rlp_core::jsonl::read_jsonl;
use rlp_core::{PreferencePair, RewardFn};
use rlp_eval::error::score_checked;
use rlp_models::{CausalLm, TextTokenizer};
use rlp_reward::LearnedReward;
use rlp_tasks::{Task, load_task};

use super::agreement::{Agreement, pairwise_agreement};
use super::config::PipelineConfig;
use crate::runs::load_policy;

/// One line of `policy_samples.jsonl`.
#[derive(serde::Deserialize)]
struct SamplesLine {
    prompt: String,
    responses: Vec<String>,
}

/// What a pipeline run left in its directory.
pub struct FinishedRun {
    /// The run directory.
    pub dir: PathBuf,
    /// Its resolved config.
    pub config: PipelineConfig,
    /// The task.
    pub task: Task,
    /// The SFT model (on the plain device) and its tokenizer.
    pub sft: CausalLm,
    /// The tokenizer.
    pub tokenizer: TextTokenizer,
    /// `D`.
    pub preferences: Vec<PreferencePair>,
    /// `r` (normalised, as PPO saw it).
    pub r: LearnedReward,
    /// `r`'s directory.
    pub r_dir: PathBuf,
    /// The unlabelled prompts of `P`.
    pub prompts: Vec<String>,
    /// `P`: the first-round policy's samples, `n` per prompt.
    pub samples: Vec<Vec<String>>,
}

impl FinishedRun {
    /// Reads `dir` (a directory `rlp pipeline` wrote) with seed `seed`'s policy samples; models
    /// load on `device` (a plain device).
    pub fn open(dir: &Path, seed: u64, device: &Device) -> Result<Self> {
        let config_path = dir.join("config.toml");
        if !config_path.is_file() {
            bail!(
                "{} is not a pipeline run (no config.toml): run `cargo run --release` (or \
                 `rlp pipeline --out DIR`) first",
                dir.display()
            );
        }
        let config = PipelineConfig::load(&config_path)?;
        let task =
            load_task(&config.task, config.seeds[0], device)?.evaluated_on(config.eval.split)?;
        let (sft, tokenizer) =
            load_policy(config.policy.as_deref(), &task, config.seeds[0], device)?;
        let preferences = read_jsonl(dir.join("preferences.jsonl"))?;
        let r_dir = dir.join("rm");
        let r = LearnedReward::load(&r_dir, device)
            .with_context(|| format!("loading r from {}", r_dir.display()))?;
        let samples_path = dir.join(format!("seed-{seed}/policy_samples.jsonl"));
        let lines: Vec<SamplesLine> = read_jsonl(&samples_path)
            .with_context(|| format!("seed {seed}: reading the policy samples"))?;
        let (prompts, samples) = lines.into_iter().map(|l| (l.prompt, l.responses)).unzip();
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            task,
            sft,
            tokenizer,
            preferences,
            r,
            r_dir,
            prompts,
            samples,
        })
    }
}

/// Pairwise agreement of `reward` with `gold` over every pair of samples within each prompt's
/// group (`n` samples give `n(n−1)/2` pairs; pairs the gold scorer ties are left out).
pub fn agreement_on_samples(
    reward: &dyn RewardFn,
    gold: &dyn RewardFn,
    prompts: &[String],
    samples: &[Vec<String>],
) -> Result<Agreement> {
    let k = samples.first().map_or(0, Vec::len);
    if samples.iter().any(|s| s.len() != k) {
        bail!("every prompt needs the same number of samples");
    }
    let rows: Vec<String> = prompts
        .iter()
        .zip(samples)
        .flat_map(|(p, s)| std::iter::repeat_n(p.clone(), s.len()))
        .collect();
    let texts: Vec<String> = samples.iter().flatten().cloned().collect();
    let g = score_checked(gold, &rows, &texts)?;
    let s: Vec<f64> = score_checked(reward, &rows, &texts)?;
    Ok(pairwise_agreement(&s, &g, k))
}
