//! `rlp quark`: Quark (Lu et al., NeurIPS 2022) of a policy against a reward — a reward-model
//! directory or the task's gold scorer — from one TOML file (`QuarkRunConfig`), through the
//! training driver (so it resumes).
//!
//! The run directory receives `config.toml`, `metrics.jsonl` (one line per phase: the
//! exploration's rewards and pool, the training steps' loss, NLL, KL and entropy),
//! `checkpoint-N/` every `checkpoint_every` phases (`policy/` inside loads as a model with the
//! reward tokens; `trainer/` resumes, the data pool included), the final `policy/`, and
//! `eval.json`: the gold score of one sample per eval prompt from the starting policy and from
//! the final policy conditioned on the best reward token (Quark's inference).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::module::Module;
use rlp_core::{BackendSpec, Completion, RewardFn, SeededRng};
use rlp_eval::MeanSe;
use rlp_eval::error::score_checked;
use rlp_models::checkpoint::StoreDtype;
use rlp_models::pretrained::save_parts;
use rlp_models::{GenerationConfig, generate_text};
use rlp_policy_opt::PolicyError;
use rlp_policy_opt::quark::{PhaseStats, QuarkConfig, QuarkRun, QuarkTrainer};
use rlp_tasks::{DEFAULT_TASK, EvalSplit, load_task};
use rlp_train::run_dir::write_atomic;
use rlp_train::{Callback, DriveOptions, RunDir, Trainer, drive};
use serde::{Deserialize, Serialize};

use super::{load_policy, owned_reward, progress_bar, read_toml, start_run_dir};

/// Every setting of a Quark run (`rlp quark --config FILE`; `--set` and flags override fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuarkRunConfig {
    /// Task whose train prompts are explored and eval prompts evaluated.
    pub task: String,
    /// Policy checkpoint directory with `tokenizer.json` (default: the task's base policy); it
    /// is also Quark's reference π₀.
    pub policy: Option<PathBuf>,
    /// The reward: a reward-model directory, or `gold` (the task's scorer).
    pub reward: String,
    /// Phases (each: `quark.samples_per_phase` explored samples, then
    /// `quark.steps_per_phase` training steps); the first also fills the pool from π₀.
    pub phases: usize,
    /// Save a resumable `checkpoint-N` every this many phases (0: never).
    pub checkpoint_every: usize,
    /// Eval prompts used for the final evaluation (from the start of `eval_split`).
    pub eval_prompts: usize,
    /// The held-out prompts evaluated on: `eval` (reported) or `dev` (development runs).
    pub eval_split: EvalSplit,
    /// Backend.
    pub backend: BackendSpec,
    /// Seed of the task (where it is generated) and of the prompt draws.
    pub seed: u64,
    /// Quark's settings (K, β, α, lr, batch size, samples and steps per phase).
    pub quark: QuarkConfig,
}

impl Default for QuarkRunConfig {
    fn default() -> Self {
        Self {
            task: DEFAULT_TASK.into(),
            policy: None,
            reward: "gold".into(),
            phases: 10,
            checkpoint_every: 0,
            eval_prompts: 128,
            eval_split: EvalSplit::Eval,
            backend: BackendSpec::default(),
            seed: 0,
            quark: QuarkConfig::default(),
        }
    }
}

impl QuarkRunConfig {
    /// Reads a TOML file; errors name the file (and the key, as the TOML parser reports it).
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "Quark")
    }
}

/// What a Quark run ends with (`eval.json`).
#[derive(Debug, Clone, Serialize)]
pub struct QuarkOutcome {
    /// Phases taken.
    pub phases: usize,
    /// Gold score of the starting policy's samples on the eval prompts (one per prompt).
    pub start_gold: MeanSe,
    /// Gold score of the final policy's samples conditioned on the best reward token.
    pub end_gold: MeanSe,
}

/// The callback of a Quark run: its progress bar, and the policy (reward tokens included) with
/// its tokenizer in every checkpoint.
struct QuarkProgress {
    bar: indicatif::ProgressBar,
}

impl<'r> Callback<QuarkRun<'r>> for QuarkProgress {
    fn on_step(
        &mut self,
        _: &QuarkRun<'r>,
        phase: usize,
        s: &PhaseStats,
    ) -> Result<(), PolicyError> {
        self.bar.set_position(phase as u64);
        self.bar.set_message(format!(
            "explored reward {:.3}  pool {}  loss {:.3}  KL {:.3}",
            s.explore.mean_reward, s.explore.pool_size, s.train.loss, s.train.kl
        ));
        Ok(())
    }

    fn on_checkpoint(&mut self, r: &QuarkRun<'r>, _: usize, dir: &Path) -> Result<(), PolicyError> {
        let t = &r.trainer;
        save_parts(
            &t.policy().valid(),
            t.tokenizer(),
            &dir.join("policy"),
            StoreDtype::F32,
        )?;
        Ok(())
    }
}

/// Gold scores of `completions` (one per prompt) as a mean with its standard error.
fn gold_of(gold: &dyn RewardFn, completions: &[Completion]) -> Result<MeanSe> {
    let prompts: Vec<String> = completions.iter().map(|c| c.prompt.clone()).collect();
    let texts: Vec<String> = completions.iter().map(|c| c.text.clone()).collect();
    Ok(MeanSe::of(&score_checked(gold, &prompts, &texts)?))
}

/// Runs Quark as `config` says, writing into `out`; with `resume`, continues from the newest
/// `checkpoint-N` there and ends with the policy an uninterrupted run would have.
pub fn run_quark(config: &QuarkRunConfig, out: &Path, resume: bool) -> Result<QuarkOutcome> {
    config.quark.validate()?;
    let plain = config.backend.device()?;
    let train = config.backend.autodiff_device()?;
    let task = load_task(&config.task, config.seed, &plain)?.evaluated_on(config.eval_split)?;
    let (policy, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seed, &train)?;
    let start = policy.valid();
    let context = start.config.max_position_embeddings;
    let reward = owned_reward(&config.reward, &config.task, config.seed, context, &plain)?;
    let trainer = QuarkTrainer::new(policy, tokenizer.clone(), reward, config.quark.clone())?;
    let rng = SeededRng::new(config.seed).fork("quark-run");
    let mut run = QuarkRun::new(trainer, &task.train_prompts, rng, config.phases)?;
    start_run_dir(out, config)?;
    let eval_prompts = &task.eval_prompts[..config.eval_prompts.min(task.eval_prompts.len())];
    let eval_rng = SeededRng::new(config.seed).fork("quark-eval");
    let mut generation = GenerationConfig::default();
    generation.max_new_tokens = config.quark.max_new_tokens;
    let start_samples = generate_text(
        &start,
        &tokenizer,
        eval_prompts,
        &generation,
        &mut eval_rng.fork("start"),
    )?;
    let start_gold =
        gold_of(task.gold.as_ref(), &start_samples).context("scoring the starting policy")?;
    let mut progress = QuarkProgress {
        bar: progress_bar(config.phases),
    };
    let options = DriveOptions {
        checkpoint_every: config.checkpoint_every,
        resume,
    };
    drive(&mut run, &RunDir::new(out), options, &mut [&mut progress])?;
    progress.bar.finish_and_clear();
    let t = &run.trainer;
    save_parts(
        &t.policy().valid(),
        t.tokenizer(),
        &out.join("policy"),
        StoreDtype::F32,
    )?;
    let best = t.generate_best(eval_prompts, &mut eval_rng.fork("end"))?;
    let outcome = QuarkOutcome {
        phases: run.steps_done(),
        start_gold,
        end_gold: gold_of(task.gold.as_ref(), &best).context("scoring the final policy")?,
    };
    write_atomic(
        &out.join("eval.json"),
        serde_json::to_string_pretty(&outcome)?.as_bytes(),
    )?;
    Ok(outcome)
}
