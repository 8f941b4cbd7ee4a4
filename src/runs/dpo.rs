//! `rlp dpo`: Direct Preference Optimization of a policy checkpoint (default: the task's base
//! policy) on preference JSONL (`{"prompt", "chosen", "rejected"}` per line, as `rlp reward
//! label` writes), against the starting policy as the frozen reference.
//!
//! The run directory receives `config.toml` (the resolved settings), `metrics.jsonl` (one line
//! per step: loss, margin, accuracy, implicit rewards, learning rate), `policy/` (the final
//! checkpoint with its tokenizer), `checkpoint-N/` every `checkpoint_every` steps (resumable
//! with `--resume`; `policy/` inside loads as a model) and `dpo.json` (the training report and,
//! with held-out pairs, their loss, margin and accuracy).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use rlp_core::jsonl::read_jsonl;
use rlp_core::{BackendSpec, PreferencePair};
use rlp_models::TextTokenizer;
use rlp_models::checkpoint::StoreDtype;
use rlp_models::lora::LoraConfig;
use rlp_models::pretrained::save_parts;
use rlp_policy_opt::PolicyError;
use rlp_policy_opt::dpo::{DpoConfig, DpoEval, DpoReport, DpoRun, DpoStepStats, DpoTrainer};
use rlp_tasks::{DEFAULT_TASK, load_task};
use rlp_train::run_dir::write_atomic;
use rlp_train::{Callback, DriveOptions, RunDir, Trainer, drive};
use serde::{Deserialize, Serialize};

use super::{load_policy, progress_bar, read_toml, start_run_dir};

/// Every setting of a DPO run (`rlp dpo --config FILE`; flags override fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpoRunConfig {
    /// Task whose base policy is the default starting point.
    pub task: String,
    /// Policy checkpoint directory with `tokenizer.json` (default: the task's base policy).
    pub policy: Option<PathBuf>,
    /// Preference JSONL to train on (required).
    pub data: Option<PathBuf>,
    /// Optional held-out preference JSONL, evaluated after training.
    pub eval: Option<PathBuf>,
    /// Backend.
    pub backend: BackendSpec,
    /// Seed of the task (where it is generated).
    pub seed: u64,
    /// Save a resumable `checkpoint-N` (with the policy as a loadable directory) every this
    /// many steps (0: only the final policy).
    pub checkpoint_every: usize,
    /// DPO's settings (`max_len` is clipped to the policy's context window).
    pub dpo: DpoConfig,
    /// Train LoRA adapters on the frozen policy instead of every weight (`[lora]`: rank,
    /// alpha, targets); the reference stays the plain starting policy.
    pub lora: Option<LoraConfig>,
    /// Burn's balanced gradient checkpointing (less memory, more time).
    pub grad_checkpointing: bool,
}

impl Default for DpoRunConfig {
    fn default() -> Self {
        Self {
            task: DEFAULT_TASK.into(),
            policy: None,
            data: None,
            eval: None,
            backend: BackendSpec::default(),
            seed: 0,
            checkpoint_every: 0,
            dpo: DpoConfig::default(),
            lora: None,
            grad_checkpointing: false,
        }
    }
}

impl DpoRunConfig {
    /// Reads a TOML file; errors name the file (and the key, as the TOML parser reports it).
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "DPO")
    }
}

/// What a DPO run ends with (`dpo.json`).
#[derive(Debug, Clone, Serialize)]
pub struct DpoOutcome {
    /// The training report.
    pub train: DpoReport,
    /// The held-out evaluation, if `eval` was given.
    pub eval: Option<DpoEval>,
}

/// Preference pairs from `path`; errors name it.
fn read_pairs(path: &Path) -> Result<Vec<PreferencePair>> {
    read_jsonl(path).with_context(|| format!("reading preference pairs from {}", path.display()))
}

/// The callback of a DPO run: its progress bar, and the policy with its tokenizer in every
/// checkpoint.
struct DpoProgress<'a> {
    bar: indicatif::ProgressBar,
    tokenizer: &'a TextTokenizer,
    config: &'a DpoRunConfig,
}

impl Callback<DpoRun> for DpoProgress<'_> {
    fn on_step(&mut self, _: &DpoRun, step: usize, s: &DpoStepStats) -> Result<(), PolicyError> {
        self.bar.set_position(step as u64);
        self.bar.set_message(format!(
            "loss {:.4}  margin {:.3}  acc {:.2}",
            s.loss, s.stats.margin, s.stats.accuracy
        ));
        Ok(())
    }

    fn on_checkpoint(&mut self, t: &DpoRun, _: usize, dir: &Path) -> Result<(), PolicyError> {
        let policy = t.trainer.policy.valid();
        save_parts(
            &policy,
            self.tokenizer,
            &dir.join("policy"),
            StoreDtype::F32,
        )?;
        let (lora, base) = (self.config.lora.as_ref(), self.config.policy.as_deref());
        super::lora::save_adapter_in(&policy, lora, base, &dir.join("policy"))?;
        Ok(())
    }
}

/// Runs DPO as `config` says, writing into `out`; with `resume`, continues from the newest
/// `checkpoint-N` there and ends with the policy an uninterrupted run would have.
pub fn run_dpo(config: &DpoRunConfig, out: &Path, resume: bool) -> Result<DpoOutcome> {
    config.dpo.validate()?;
    let data = config
        .data
        .as_deref()
        .context("no preference data: set `data` in the config or give --data")?;
    let pairs = read_pairs(data)?;
    let eval_pairs = config.eval.as_deref().map(read_pairs).transpose()?;
    let task = load_task(&config.task, config.seed, &config.backend.device()?)?;
    let train = super::lora::training_device(&config.backend, config.grad_checkpointing)?;
    let (policy, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seed, &train)?;
    let reference = policy.valid();
    let policy = super::lora::adapt(policy, config.lora.as_ref(), config.seed)?;
    let mut dpo = config.dpo.clone();
    dpo.max_len = dpo.max_len.min(policy.config.max_position_embeddings);
    let trainer = DpoTrainer::new(policy, &reference, tokenizer.clone(), dpo)?;
    let start = Instant::now();
    super::check_ranks_agree(config, || serde_json::to_vec(&pairs).unwrap_or_default())?;
    let mut run =
        DpoRun::new(trainer, &pairs).with_context(|| format!("training on {}", data.display()))?;
    start_run_dir(out, config)?;
    let mut progress = DpoProgress {
        bar: progress_bar(run.total_steps()),
        tokenizer: &tokenizer,
        config,
    };
    let options = DriveOptions {
        checkpoint_every: config.checkpoint_every,
        resume,
    };
    drive(&mut run, &RunDir::new(out), options, &mut [&mut progress])
        .with_context(|| format!("training on {}", data.display()))?;
    progress.bar.finish_and_clear();
    let report = run.report(start.elapsed().as_secs_f64());
    if report.skipped.skipped() + report.skipped.truncated > 0 {
        note!("{}: {}", data.display(), report.skipped);
    }
    let trainer = run.trainer;
    if rlp_core::parallel::is_writer() {
        save_parts(
            &trainer.policy.valid(),
            &tokenizer,
            &out.join("policy"),
            StoreDtype::F32,
        )?;
        let (lora, base) = (config.lora.as_ref(), config.policy.as_deref());
        super::lora::save_adapter_in(&trainer.policy, lora, base, &out.join("policy"))?;
    }
    let eval = match (&eval_pairs, &config.eval) {
        (Some(p), Some(path)) => Some(
            trainer
                .evaluate(p)
                .with_context(|| format!("evaluating on {}", path.display()))?,
        ),
        _ => None,
    };
    let outcome = DpoOutcome {
        train: report,
        eval,
    };
    if rlp_core::parallel::is_writer() {
        write_atomic(
            &out.join("dpo.json"),
            serde_json::to_string_pretty(&outcome)?.as_bytes(),
        )?;
    }
    Ok(outcome)
}
