//! `rlp fdpg`: f-DPG (Go et al., ICML 2023) of a policy toward the KL-regularised RLHF target
//! `p(y) ∝ a(y)·exp(r(y)/β)` of a reward — a reward-model directory or the task's gold scorer —
//! from one TOML file (`FdpgRunConfig`), through the training driver (so it resumes).
//!
//! The run directory receives `config.toml`, `metrics.jsonl` (one line per step: loss,
//! pseudo-reward, baseline, log Ẑ, the IS estimates of KL/TV/JS to the target, reward, timings),
//! `checkpoint-N/` every `checkpoint_every` steps (`policy/` inside loads as a model;
//! `trainer/` resumes), the final `policy/`, and `eval.json`: the starting and final policies on
//! the eval prompts (gold, proxy, KL to the start, drift, diversity).

use rlp_core::With;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::module::Module;
use rlp_core::{BackendSpec, SeededRng};
use rlp_eval::{EvalConfig, EvalSummary, evaluate_policy};
use rlp_models::TextTokenizer;
use rlp_models::checkpoint::StoreDtype;
use rlp_models::pretrained::save_parts;
use rlp_policy_opt::PolicyError;
use rlp_policy_opt::fdpg::{FdpgConfig, FdpgRun, FdpgStats, FdpgTrainer, Target};
use rlp_tasks::{DEFAULT_TASK, EvalSplit, load_task};
use rlp_train::run_dir::write_atomic;
use rlp_train::{Callback, DriveOptions, RunDir, Trainer, drive};
use serde::{Deserialize, Serialize};

use super::{load_policy, owned_reward, progress_bar, read_toml, start_run_dir};

/// Every setting of an f-DPG run (`rlp fdpg --config FILE`; `--set` and flags override fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FdpgRunConfig {
    /// Task whose train prompts are sampled and eval prompts evaluated.
    pub task: String,
    /// Policy checkpoint directory with `tokenizer.json` (default: the task's base policy); it
    /// is also the target's base model `a`.
    pub policy: Option<PathBuf>,
    /// The reward `r` of the target: a reward-model directory, or `gold` (the task's scorer).
    pub reward: String,
    /// f-DPG steps (each on `fdpg.batch_size` samples).
    pub steps: usize,
    /// Save a resumable `checkpoint-N` every this many steps (0: never).
    pub checkpoint_every: usize,
    /// Eval prompts used for the final evaluation (from the start of `eval_split`).
    pub eval_prompts: usize,
    /// The held-out prompts evaluated on: `eval` (reported) or `dev` (development runs).
    pub eval_split: EvalSplit,
    /// Drift-corpus texts used by the evaluation.
    pub drift_texts: usize,
    /// Backend.
    pub backend: BackendSpec,
    /// Seed of the task (where it is generated) and of the prompt draws.
    pub seed: u64,
    /// f-DPG's settings (divergence, β, lr, batch size, proposal, Ẑ, baseline).
    pub fdpg: FdpgConfig,
    /// Evaluation settings.
    pub eval: EvalConfig,
}

impl Default for FdpgRunConfig {
    fn default() -> Self {
        Self {
            task: DEFAULT_TASK.into(),
            policy: None,
            reward: "gold".into(),
            steps: 100,
            checkpoint_every: 0,
            eval_prompts: 128,
            eval_split: EvalSplit::Eval,
            drift_texts: 200,
            backend: BackendSpec::default(),
            seed: 0,
            fdpg: FdpgConfig::default(),
            eval: EvalConfig::default().with(|c| c.max_new_tokens = 24),
        }
    }
}

impl FdpgRunConfig {
    /// Reads a TOML file; errors name the file (and the key, as the TOML parser reports it).
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "f-DPG")
    }
}

/// What an f-DPG run ends with (`eval.json`).
#[derive(Debug, Clone, Serialize)]
pub struct FdpgOutcome {
    /// Steps taken.
    pub steps: usize,
    /// The starting policy on the eval prompts.
    pub start: EvalSummary,
    /// The final policy on the eval prompts.
    pub end: EvalSummary,
}

/// The callback of an f-DPG run: its progress bar, and the policy with its tokenizer in every
/// checkpoint.
struct FdpgProgress<'a> {
    bar: indicatif::ProgressBar,
    tokenizer: &'a TextTokenizer,
}

impl<'r> Callback<FdpgRun<'r>> for FdpgProgress<'_> {
    fn on_step(&mut self, _: &FdpgRun<'r>, step: usize, s: &FdpgStats) -> Result<(), PolicyError> {
        self.bar.set_position(step as u64);
        self.bar.set_message(format!(
            "reward {:.3}  KL(p‖π) {:.3}  log Ẑ {:.3}",
            s.reward, s.estimates.kl_p_pi, s.log_z
        ));
        Ok(())
    }

    fn on_checkpoint(&mut self, r: &FdpgRun<'r>, _: usize, dir: &Path) -> Result<(), PolicyError> {
        let policy = r.trainer.policy().valid();
        save_parts(
            &policy,
            self.tokenizer,
            &dir.join("policy"),
            StoreDtype::F32,
        )?;
        Ok(())
    }
}

/// Runs f-DPG as `config` says, writing into `out`; with `resume`, continues from the newest
/// `checkpoint-N` there and ends with the policy an uninterrupted run would have.
pub fn run_fdpg(config: &FdpgRunConfig, out: &Path, resume: bool) -> Result<FdpgOutcome> {
    config.fdpg.validate()?;
    config.eval.validate()?;
    let plain = config.backend.device()?;
    let train = config.backend.autodiff_device()?;
    let task = load_task(&config.task, config.seed, &plain)?.evaluated_on(config.eval_split)?;
    let (policy, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seed, &train)?;
    let start = policy.valid();
    let context = start.config.max_position_embeddings;
    let reward = owned_reward(&config.reward, &config.task, config.seed, context, &plain)?;
    let trainer = FdpgTrainer::new(
        policy,
        tokenizer.clone(),
        Target::Rlhf(reward),
        config.fdpg.clone(),
    )?;
    let rng = SeededRng::new(config.seed).fork("fdpg-run");
    let mut run = FdpgRun::new(trainer, &task.train_prompts, &(), rng, config.steps)?;
    start_run_dir(out, config)?;
    let eval_prompts = &task.eval_prompts[..config.eval_prompts.min(task.eval_prompts.len())];
    let drift = &task.drift[..config.drift_texts.min(task.drift.len())];
    let eval_rng = SeededRng::new(config.seed).fork("fdpg-eval");
    let evaluate = |policy: &rlp_models::CausalLm| -> Result<EvalSummary> {
        Ok(evaluate_policy(
            policy,
            &start,
            &tokenizer,
            eval_prompts,
            task.gold.as_ref(),
            None,
            drift,
            &config.eval,
            &eval_rng,
        )?)
    };
    let start_eval = evaluate(&start).context("evaluating the starting policy")?;
    let mut progress = FdpgProgress {
        bar: progress_bar(config.steps),
        tokenizer: &tokenizer,
    };
    let options = DriveOptions {
        checkpoint_every: config.checkpoint_every,
        resume,
    };
    drive(&mut run, &RunDir::new(out), options, &mut [&mut progress])?;
    progress.bar.finish_and_clear();
    let policy = run.trainer.policy().valid();
    save_parts(&policy, &tokenizer, &out.join("policy"), StoreDtype::F32)?;
    let outcome = FdpgOutcome {
        steps: run.steps_done(),
        start: start_eval,
        end: evaluate(&policy).context("evaluating the final policy")?,
    };
    write_atomic(
        &out.join("eval.json"),
        serde_json::to_string_pretty(&outcome)?.as_bytes(),
    )?;
    Ok(outcome)
}
