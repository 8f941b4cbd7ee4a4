//! Every setting of the RLP pipeline (`rlp pipeline --config FILE`; with no file, the main job:
//! the first [`MAIN_JOB_SEEDS`] seeds of the embedded default `configs/pipeline-arith.toml`,
//! which is what `cargo run --release` runs).

use std::path::Path;

use anyhow::{Result, bail};
use rlp_core::BackendSpec;
use rlp_eval::AnnotatorPoolConfig;
use rlp_ib::UmlConfig;
use rlp_policy_opt::ppo::PpoConfig;
use rlp_reward::{RmTrainConfig, Trainable};
use rlp_spg::SpgConfig;
use serde::{Deserialize, Serialize};

use crate::runs::read_toml;

/// The embedded default config: RLP on arithmetic word problems, with the five reported seeds.
pub const DEFAULT_CONFIG: &str = include_str!("../../configs/pipeline-arith.toml");

/// How many of [`DEFAULT_CONFIG`]'s seeds the main job runs (its first three, so that it ends
/// within 15 minutes on 2 cores); `rlp pipeline --config configs/pipeline-arith.toml` runs all
/// five.
pub const MAIN_JOB_SEEDS: usize = 3;

/// RLP's Algorithm 1 and its baselines, end to end (`docs/algorithms.md`, "RLP: Reward Learning on Policy").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// The task.
    pub task: String,
    /// The SFT model: a policy checkpoint directory with `tokenizer.json` (default: the task's
    /// base policy).
    pub policy: Option<std::path::PathBuf>,
    /// One full run of every method per seed (PPO sampling, retraining, evaluation); the
    /// preference data `D` and the first reward model `r` are shared by all seeds.
    pub seeds: Vec<u64>,
    /// Backend.
    pub backend: BackendSpec,
    /// The simulated human preferences `D`.
    pub preferences: PreferenceConfig,
    /// Which reward-model parameters train (for `r` and every retraining).
    pub trainable: Trainable,
    /// Training of the first reward model `r` on `D`.
    pub reward: RmTrainConfig,
    /// Normalise every reward model so that the SFT model's samples (the responses of the
    /// first `normalize_pairs` pairs of `D`) score mean 0 and SD 1 (Ziegler et al. 2019), so a
    /// fixed β weighs the KL penalty the same against each; 0 turns it off. Without it, a
    /// retrained reward model with a larger scale gets a weaker effective KL penalty.
    pub normalize_pairs: usize,
    /// PPO iterations of each policy-optimisation round.
    pub iterations: usize,
    /// Evaluate the first-round policy π₁ every this many PPO iterations (gold, proxy and KL
    /// on the eval prompts; the report's "π₁ through PPO" table, which shows whether r is
    /// being exploited); 0: only at the end. The other PPO rounds are evaluated at the end.
    pub ppo_eval_every: usize,
    /// PPO's settings (both rounds).
    pub ppo: PpoConfig,
    /// The first-round policy's samples on unlabelled prompts (what RLP learns from).
    pub policy_samples: PolicySampleConfig,
    /// Where retraining starts.
    pub retrain_init: RetrainInit,
    /// Pairs of `D` revisited when retraining (a seeded subset; 0: all of `D`).
    pub retrain_pairs: usize,
    /// Also run the control arm `Retrain-D`: `r` retrained exactly as RLP-SPG retrains it
    /// (same init, pairs of `D`, settings) but with no policy samples, then PPO from SFT. It
    /// separates what the policy samples add from what more reward-model training adds.
    pub control: bool,
    /// RLP-UML's retraining: Bradley–Terry on `D` plus `λ·L_M` on view pairs.
    pub uml: UmlConfig,
    /// RLP-SPG's pair rule.
    pub spg: SpgConfig,
    /// RLP-SPG's retraining on `D ∪ D̂`.
    pub spg_train: RmTrainConfig,
    /// RLP-SPG's semantic clusterer.
    pub clusterer: ClustererSpec,
    /// The best-of-n baseline.
    pub bon: BonConfig,
    /// Evaluation of every method against the SFT model's outputs.
    pub eval: PipelineEval,
}

/// `D`: pairs of SFT samples on train prompts, labelled by the gold scorer with a fraction of
/// the labels flipped (AlpacaFarm's simulated annotators: 25%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreferenceConfig {
    /// Prompts labelled (one pair each, from the start of the train split).
    pub pairs: usize,
    /// Fraction of labels flipped.
    pub flip: f64,
    /// New tokens per response.
    pub max_new_tokens: usize,
    /// Sampling temperature.
    pub temperature: f32,
    /// Seed of the samples and the flips.
    pub seed: u64,
}

impl Default for PreferenceConfig {
    fn default() -> Self {
        Self {
            pairs: 2000,
            flip: 0.25,
            max_new_tokens: 24,
            temperature: 1.0,
            seed: 0,
        }
    }
}

/// RLP's policy samples `P`: `n` responses per unlabelled prompt from the first-round policy
/// (the paper: n = 10 at temperature 1.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySampleConfig {
    /// Unlabelled prompts, taken from the train split after the ones `D` used.
    pub prompts: usize,
    /// Responses per prompt.
    pub n: usize,
    /// Sampling temperature.
    pub temperature: f32,
    /// New tokens per response.
    pub max_new_tokens: usize,
    /// Also sample the SFT model the same way on the same prompts, and report r's agreement
    /// with gold on those samples beside its agreement on π₁'s: RLP's premise (r ranks the
    /// policy's samples worse than the SFT samples it was trained on), measured on as many
    /// pairs as `P` gives rather than on the eval samples alone.
    pub sft_too: bool,
}

impl Default for PolicySampleConfig {
    fn default() -> Self {
        Self {
            prompts: 128,
            n: 10,
            temperature: 1.0,
            max_new_tokens: 24,
            sft_too: false,
        }
    }
}

/// What the retrained reward model `r̂` starts from. The paper says "retrain" without saying
/// from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetrainInit {
    /// Continue from the first reward model `r` (cheaper; `D` is revisited, so `r̂` keeps what
    /// `r` learnt).
    #[default]
    RewardModel,
    /// Start again from the SFT model with a fresh head, as `r` did.
    Sft,
}

pub use rlp_spg::ClustererSpec;

/// The best-of-n baseline: the `r`-best of `n` SFT samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BonConfig {
    /// Samples per prompt.
    pub n: usize,
    /// Sampling temperature of the candidates.
    pub temperature: f32,
}

impl Default for BonConfig {
    fn default() -> Self {
        Self {
            n: 16,
            temperature: 1.0,
        }
    }
}

/// How every method is measured: win-rate against the SFT model's outputs on the task's eval
/// prompts (gold judge and annotator pool), gold score; KL and drift come from each PPO run's
/// final evaluation at temperature 1 (the KL estimators need samples from the policy itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineEval {
    /// Eval prompts (from the start of `split`).
    pub prompts: usize,
    /// The held-out prompts every method is judged on: `eval` (reported results) or `dev`
    /// (development runs that choose settings; tasks with a dev split only).
    pub split: rlp_tasks::EvalSplit,
    /// Responses per prompt.
    pub samples_per_prompt: usize,
    /// Sampling temperature of the judged responses (RLP: 0.7).
    pub temperature: f32,
    /// New tokens per response.
    pub max_new_tokens: usize,
    /// Drift-corpus texts for perplexity.
    pub drift_texts: usize,
    /// Also score each policy's greedy (temperature 0) response to every eval prompt with the
    /// gold scorer (a "gold, greedy" column; on `arith`, accuracy at T = 0).
    pub greedy: bool,
    /// The simulated annotator pool.
    pub annotators: AnnotatorPoolConfig,
}

impl Default for PipelineEval {
    fn default() -> Self {
        Self {
            prompts: 128,
            split: rlp_tasks::EvalSplit::Eval,
            samples_per_prompt: 2,
            temperature: 0.7,
            max_new_tokens: 24,
            drift_texts: 200,
            greedy: false,
            annotators: AnnotatorPoolConfig::default(),
        }
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            task: rlp_tasks::DEFAULT_TASK.into(),
            policy: None,
            seeds: vec![0, 1, 2],
            backend: BackendSpec::default(),
            preferences: PreferenceConfig::default(),
            trainable: Trainable::All,
            reward: RmTrainConfig::default(),
            normalize_pairs: 256,
            iterations: 20,
            ppo_eval_every: 0,
            ppo: PpoConfig::default(),
            policy_samples: PolicySampleConfig::default(),
            retrain_init: RetrainInit::default(),
            retrain_pairs: 0,
            control: true,
            uml: UmlConfig::default(),
            spg: SpgConfig::default(),
            spg_train: RmTrainConfig::default(),
            clusterer: ClustererSpec::default(),
            bon: BonConfig::default(),
            eval: PipelineEval::default(),
        }
    }
}

impl PipelineConfig {
    /// Reads a TOML file; errors name the file and the key.
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "pipeline")
    }

    /// The embedded default, [`DEFAULT_CONFIG`], with all its seeds.
    pub fn embedded_default() -> Result<Self> {
        toml::from_str(DEFAULT_CONFIG)
            .map_err(|e| anyhow::anyhow!("configs/pipeline-arith.toml: {e}"))
    }

    /// The main job: the embedded default with its first [`MAIN_JOB_SEEDS`] seeds.
    pub fn main_job() -> Result<Self> {
        let mut c = Self::embedded_default()?;
        c.seeds.truncate(MAIN_JOB_SEEDS);
        Ok(c)
    }

    /// Errors on settings no run can use, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.seeds.is_empty() {
            bail!("seeds: give at least one seed");
        }
        let mut sorted = self.seeds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.seeds.len() {
            bail!("seeds: {:?} repeats a seed", self.seeds);
        }
        if self.preferences.pairs == 0 {
            bail!("preferences.pairs must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.preferences.flip) {
            bail!(
                "preferences.flip must lie in [0, 1], got {}",
                self.preferences.flip
            );
        }
        if self.iterations == 0 {
            bail!("iterations must be at least 1");
        }
        if self.policy_samples.prompts == 0 || self.policy_samples.n < 2 {
            bail!("policy_samples: need at least 1 prompt and n ≥ 2 responses per prompt");
        }
        if self.bon.n == 0 {
            bail!("bon.n must be at least 1");
        }
        if self.eval.prompts == 0 || self.eval.samples_per_prompt == 0 {
            bail!("eval.prompts and eval.samples_per_prompt must be at least 1");
        }
        self.ppo.validate()?;
        Ok(())
    }
}
