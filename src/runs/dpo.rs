//! `rlp dpo`: Direct Preference Optimization of a policy checkpoint (default: the task's base
//! policy) on preference JSONL (`{"prompt", "chosen", "rejected"}` per line, as `rlp reward
//! label` writes), against the starting policy as the frozen reference.
//!
//! The run directory receives `config.toml` (the resolved settings), `metrics.jsonl` (one line
//! per step: loss, margin, accuracy, implicit rewards, learning rate), `policy/` (the final
//! checkpoint with its tokenizer) and `dpo.json` (the training report and, with held-out
//! pairs, their loss, margin and accuracy).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::module::Module;
use rlp_core::jsonl::read_jsonl;
use rlp_core::{BackendSpec, PreferencePair};
use rlp_models::checkpoint;
use rlp_policy_opt::dpo::{DpoConfig, DpoEval, DpoReport, DpoTrainer};
use rlp_tasks::{DEFAULT_TASK, load_task};
use serde::{Deserialize, Serialize};

use super::{load_policy, progress_bar, read_toml, start_run_dir, write_line};

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
    /// DPO's settings (`max_len` is clipped to the policy's context window).
    pub dpo: DpoConfig,
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
            dpo: DpoConfig::default(),
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

/// Runs DPO as `config` says, writing into `out`.
pub fn run_dpo(config: &DpoRunConfig, out: &Path) -> Result<DpoOutcome> {
    config.dpo.validate()?;
    let data = config
        .data
        .as_deref()
        .context("no preference data: set `data` in the config or give --data")?;
    let pairs = read_pairs(data)?;
    let eval_pairs = config.eval.as_deref().map(read_pairs).transpose()?;
    start_run_dir(out, config)?;
    let metrics = out.join("metrics.jsonl");
    let _ = std::fs::remove_file(&metrics);
    let task = load_task(&config.task, config.seed, &config.backend.device()?)?;
    let train = config.backend.autodiff_device()?;
    let (policy, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seed, &train)?;
    let reference = policy.valid();
    let mut dpo = config.dpo.clone();
    dpo.max_len = dpo.max_len.min(policy.config.max_position_embeddings);
    let steps = pairs.len().div_ceil(dpo.batch_size) * dpo.epochs;
    let mut trainer = DpoTrainer::new(policy, &reference, tokenizer.clone(), dpo)?;
    let bar = progress_bar(steps);
    let mut error = None;
    let report = trainer
        .train(&pairs, &mut |s| {
            bar.set_position(s.step);
            bar.set_message(format!(
                "loss {:.4}  margin {:.3}  acc {:.2}",
                s.loss, s.stats.margin, s.stats.accuracy
            ));
            if let Err(e) = write_line(&metrics, s) {
                error.get_or_insert(e);
            }
        })
        .with_context(|| format!("training on {}", data.display()))?;
    bar.finish_and_clear();
    if let Some(e) = error {
        return Err(e);
    }
    if report.skipped.skipped() + report.skipped.truncated > 0 {
        eprintln!("{}: {}", data.display(), report.skipped);
    }
    let dir = out.join("policy");
    checkpoint::save(&trainer.policy.valid(), &dir)?;
    tokenizer.save(dir.join("tokenizer.json"))?;
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
    std::fs::write(
        out.join("dpo.json"),
        serde_json::to_string_pretty(&outcome)?,
    )?;
    Ok(outcome)
}
