//! `rlp reward train | eval | label`: reward models from the command line.
//!
//! - `train`: Bradley–Terry training from a policy checkpoint on preference JSONL
//!   (`{"prompt", "chosen", "rejected", "margin"?}` per line); the run directory receives the
//!   reward model (`config.json`, `model.safetensors` with `score.*`, `tokenizer.json`),
//!   `reward_config.json` and `metrics.jsonl`.
//! - `eval`: held-out pairwise accuracy of a reward-model directory.
//! - `label`: sample two responses per task prompt from a policy and label them with the task's
//!   gold scorer, flipping a fraction of the labels; writes preference JSONL.

use rlp_core::With;
use std::path::{Path, PathBuf};

use super::{StepProgress, progress_bar as bar, write_config};
use anyhow::{Context, Result, bail};
use rlp_core::jsonl::{read_jsonl, write_jsonl};
use rlp_core::{BackendSpec, PreferencePair, SeededRng};
use rlp_models::lora::LoraConfig;
use rlp_models::{GenerationConfig, TextTokenizer, checkpoint};
use rlp_reward::{
    EvalReport, LabelConfig, LabelReport, Overlong, ProbeConfig, RewardError, RewardModel,
    RmTrainConfig, RmTrainReport, RmTrainer, Trainable, encode_pairs, evaluate, reward_trainer,
    sample_and_label, train::report_of, train_probe,
};
use rlp_train::{Callback, DriveOptions, RunDir, Trainer, drive};
use serde::{Deserialize, Serialize};

/// Every setting of `rlp reward train`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RewardTrainConfig {
    /// Preference JSONL to train on.
    pub data: PathBuf,
    /// Optional held-out preference JSONL, evaluated after training.
    pub eval: Option<PathBuf>,
    /// Policy checkpoint directory (with `tokenizer.json`) the reward model starts from.
    pub init: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Which parameters train.
    pub trainable: Trainable,
    /// Training settings.
    pub train: RmTrainConfig,
    /// Seed of the head's initialisation.
    pub seed: u64,
    /// Backend.
    pub backend: BackendSpec,
    /// Save a resumable `checkpoint-N` (with a loadable reward model) every this many steps
    /// (0: only the final model).
    #[serde(default)]
    pub save_every: usize,
    /// Train LoRA adapters on the frozen backbone (and the score head in full) instead of every
    /// weight (`[lora]`: rank, alpha, targets).
    #[serde(default)]
    pub lora: Option<LoraConfig>,
    /// Burn's balanced gradient checkpointing (less memory, more time).
    #[serde(default)]
    pub grad_checkpointing: bool,
}

impl RewardTrainConfig {
    /// The noisy-proxy protocol of docs/tasks.md (tweet-sentiment) (Gao et al.'s setup on
    /// tweet-sentiment): every parameter trains, 1 epoch of 16-pair steps at lr 1e-3, 64 tokens
    /// of context keeping the end of longer texts; `seed` fixes the head and the data order.
    pub fn noisy_proxy(
        data: PathBuf,
        eval: Option<PathBuf>,
        init: PathBuf,
        out: PathBuf,
        seed: u64,
        backend: BackendSpec,
    ) -> Self {
        Self {
            data,
            eval,
            init,
            out,
            trainable: Trainable::All,
            train: RmTrainConfig::default().with(|c| {
                c.epochs = 1;
                c.lr = 1e-3;
                c.max_len = 64;
                c.overlong = Overlong::KeepEnd;
                c.seed = seed;
            }),
            seed,
            backend,
            save_every: 0,
            lora: None,
            grad_checkpointing: false,
        }
    }
}

/// Saves the reward model and its tokenizer into every checkpoint, so each loads as a reward
/// model directory.
struct SaveRewardModel<'a> {
    tokenizer: &'a TextTokenizer,
    config: &'a RewardTrainConfig,
}

impl Callback<RmTrainer> for SaveRewardModel<'_> {
    fn on_checkpoint(&mut self, t: &RmTrainer, _: usize, dir: &Path) -> Result<(), RewardError> {
        t.model().save_with(self.tokenizer, dir)?;
        let (lora, base) = (self.config.lora.as_ref(), Some(self.config.init.as_path()));
        super::lora::save_adapter_in(&t.model().backbone, lora, base, dir)?;
        Ok(())
    }
}

/// What `rlp reward train` reports.
#[derive(Debug, Clone, Serialize)]
pub struct RewardTrainOutcome {
    /// The training report.
    pub train: RmTrainReport,
    /// The held-out evaluation, if `eval` was given.
    pub eval: Option<EvalReport>,
}

/// Trains a reward model; leaves it in `cfg.out`. With `resume`, continues from the newest
/// `checkpoint-N` in `cfg.out` and ends with the weights an uninterrupted run would have.
pub fn train(cfg: &RewardTrainConfig, resume: bool) -> Result<RewardTrainOutcome> {
    let pairs: Vec<PreferencePair> = read_jsonl(&cfg.data)?;
    let eval_pairs: Option<Vec<PreferencePair>> = match &cfg.eval {
        Some(p) => Some(read_jsonl(p)?),
        None => None,
    };
    // A probe (`top:0`) needs no gradients through the backbone: it runs on the plain device.
    let probe_only = cfg.trainable == Trainable::Top(0);
    let device = if probe_only {
        cfg.backend.device()?
    } else {
        super::lora::training_device(&cfg.backend, cfg.grad_checkpointing)?
    };
    if probe_only && cfg.lora.is_some() {
        bail!("a probe (--trainable top:0) trains the head alone: drop the LoRA settings");
    }
    let policy = checkpoint::load(&cfg.init, &device)
        .with_context(|| format!("loading --init {}", cfg.init.display()))?;
    let policy = super::lora::adapt(policy, cfg.lora.as_ref(), cfg.seed)?;
    let tk = TextTokenizer::load(cfg.init.join("tokenizer.json"))?;
    let mut train_cfg = cfg.train.clone();
    train_cfg.max_len = train_cfg.max_len.min(policy.config.max_position_embeddings);
    let model = RewardModel::from_policy(policy, &mut SeededRng::new(cfg.seed).fork("rm-head"))
        .with_trainable(cfg.trainable)?;
    if probe_only {
        super::single_process("a linear probe (--trainable top:0)")?;
        return probe(cfg, model, &tk, &pairs, eval_pairs.as_deref(), &train_cfg);
    }

    super::check_ranks_agree(cfg, || serde_json::to_vec(&pairs).unwrap_or_default())?;
    let run = RunDir::new(&cfg.out);
    let start = std::time::Instant::now();
    let (mut trainer, data) = reward_trainer(model, &tk, &pairs, &train_cfg)
        .with_context(|| format!("training on {}", cfg.data.display()))?;
    write_config(&run, "reward_config.json", cfg)?;
    let mut bar = StepProgress::new(trainer.total_steps());
    let mut save = SaveRewardModel {
        tokenizer: &tk,
        config: cfg,
    };
    let options = DriveOptions {
        checkpoint_every: cfg.save_every,
        resume,
    };
    drive(&mut trainer, &run, options, &mut [&mut bar, &mut save])
        .with_context(|| format!("training on {}", cfg.data.display()))?;
    bar.finish();
    let (model, report) = report_of(trainer, data, start.elapsed().as_secs_f64());
    if report.skipped.skipped() + report.skipped.truncated > 0 {
        note!("{}: {}", cfg.data.display(), report.skipped);
    }
    if rlp_core::parallel::is_writer() {
        model.save_with(&tk, &cfg.out)?;
        let (lora, base) = (cfg.lora.as_ref(), Some(cfg.init.as_path()));
        super::lora::save_adapter_in(&model.backbone, lora, base, &cfg.out)?;
    }
    let eval = match (&eval_pairs, &cfg.eval) {
        (Some(p), Some(path)) => Some(
            evaluate(&model, &tk, p, train_cfg.max_len, train_cfg.overlong, 32)
                .with_context(|| format!("evaluating on {}", path.display()))?,
        ),
        _ => None,
    };
    Ok(RewardTrainOutcome {
        train: report,
        eval,
    })
}

/// `--trainable top:0`: a linear probe on the frozen backbone (features extracted once, on the
/// inference device; see [`rlp_reward::probe`]).
fn probe(
    cfg: &RewardTrainConfig,
    model: RewardModel,
    tk: &TextTokenizer,
    pairs: &[PreferencePair],
    eval_pairs: Option<&[PreferencePair]>,
    train_cfg: &RmTrainConfig,
) -> Result<RewardTrainOutcome> {
    let start = std::time::Instant::now();
    let (enc, skipped) = encode_pairs(tk, pairs, train_cfg.max_len, train_cfg.overlong)?;
    if enc.is_empty() {
        bail!("no usable pairs in {}: {skipped}", cfg.data.display());
    }
    if skipped.skipped() + skipped.truncated > 0 {
        eprintln!("{}: {skipped}", cfg.data.display());
    }
    std::fs::create_dir_all(&cfg.out).with_context(|| format!("creating {}", cfg.out.display()))?;
    std::fs::write(
        cfg.out.join("reward_config.json"),
        serde_json::to_string_pretty(cfg)?,
    )?;
    let progress = bar(0);
    let mut probe_cfg = ProbeConfig::default();
    probe_cfg.l2 = train_cfg.bt.l2.max(ProbeConfig::default().l2);
    let (model, accuracy, loss) =
        train_probe(model, tk, &enc, &probe_cfg, 8, &mut |done, total| {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
            progress.set_message("features");
        });
    progress.finish_and_clear();
    model.save_with(&tk, &cfg.out)?;
    let (lora, base) = (cfg.lora.as_ref(), Some(cfg.init.as_path()));
    super::lora::save_adapter_in(&model.backbone, lora, base, &cfg.out)?;
    let eval = match (eval_pairs, &cfg.eval) {
        (Some(p), Some(path)) => Some(
            evaluate(&model, tk, p, train_cfg.max_len, train_cfg.overlong, 8)
                .with_context(|| format!("evaluating on {}", path.display()))?,
        ),
        _ => None,
    };
    Ok(RewardTrainOutcome {
        train: RmTrainReport {
            steps: probe_cfg.iterations,
            pairs: enc.len(),
            skipped,
            last_epoch_loss: loss,
            last_epoch_accuracy: accuracy,
            seconds: start.elapsed().as_secs_f64(),
        },
        eval,
    })
}

/// Evaluates a reward-model directory on preference JSONL.
pub fn eval(
    model_dir: &Path,
    data: &Path,
    max_len: usize,
    overlong: Overlong,
    backend: BackendSpec,
) -> Result<EvalReport> {
    let pairs: Vec<PreferencePair> = read_jsonl(data)?;
    let device = backend.device()?;
    let model = RewardModel::load(model_dir, &device)?;
    let tk = TextTokenizer::load(model_dir.join("tokenizer.json"))?;
    let max_len = max_len.min(model.backbone.config.max_position_embeddings);
    Ok(evaluate(&model, &tk, &pairs, max_len, overlong, 32)
        .with_context(|| format!("evaluating on {}", data.display()))?)
}

/// Settings of `rlp reward label`.
#[derive(Debug, Clone)]
pub struct LabelRun {
    /// Policy checkpoint directory (with `tokenizer.json`); `None`: the task's base policy.
    pub policy: Option<PathBuf>,
    /// Task whose prompts and gold scorer are used.
    pub task: String,
    /// Label the task's eval prompts instead of its train prompts (held-out pairs).
    pub eval_split: bool,
    /// Use the first `n` prompts of the split (all when `None`).
    pub prompts: Option<usize>,
    /// Sampling settings.
    pub generation: GenerationConfig,
    /// Flip rate and seed.
    pub label: LabelConfig,
    /// Output JSONL.
    pub out: PathBuf,
    /// Backend.
    pub backend: BackendSpec,
}

/// Samples, labels and writes preference pairs.
pub fn label(run: &LabelRun) -> Result<LabelReport> {
    let device = run.backend.device()?;
    let task = rlp_tasks::load_task(&run.task, run.label.seed, &device)?;
    let (policy, tk) = super::load_policy(run.policy.as_deref(), &task, run.label.seed, &device)?;
    let split = if run.eval_split {
        &task.eval_prompts
    } else {
        &task.train_prompts
    };
    let n = run.prompts.unwrap_or(split.len());
    if n == 0 {
        bail!("--prompts must be positive");
    }
    let prompts: Vec<String> = split.iter().cycle().take(n).cloned().collect();
    let progress = bar(prompts.len().div_ceil(64));
    let mut pairs = Vec::new();
    let mut report = LabelReport::default();
    for (i, chunk) in prompts.chunks(64).enumerate() {
        let mut cfg = run.label.clone();
        cfg.seed = run.label.seed.wrapping_add(i as u64);
        let (p, r) = sample_and_label(
            &policy,
            &tk,
            chunk,
            &run.generation,
            task.gold.as_ref(),
            &cfg,
        )?;
        pairs.extend(p);
        report.pairs += r.pairs;
        report.flipped += r.flipped;
        report.identical += r.identical;
        report.ties += r.ties;
        progress.inc(1);
    }
    progress.finish_and_clear();
    write_jsonl(&run.out, &pairs)?;
    Ok(report)
}
