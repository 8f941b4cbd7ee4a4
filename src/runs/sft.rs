//! `rlp sft`: supervised fine-tuning on prompt/response JSONL with the response-masked NLL.
//!
//! The run directory receives `config.json`, `model.safetensors`, `tokenizer.json` (the given
//! one, or a byte-level BPE trained on the data), `sft_config.json` and `metrics.jsonl`.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rlp_core::jsonl::read_jsonl;
use rlp_core::{BackendSpec, PromptResponse, SeededRng, parallel};
use rlp_models::checkpoint::StoreDtype;
use rlp_models::lora::LoraConfig;
use rlp_models::pretrained::save_parts;
use rlp_models::{CausalLm, LlamaConfig, Pretrained, TextTokenizer, checkpoint};
use rlp_train::run_dir::write_atomic;
use rlp_train::{
    Callback, DriveOptions, RunDir, SftPlan, SftTrainer, StepInfo, TrainError, drive, sft_trainer,
};
use serde::{Deserialize, Serialize};

/// Every setting of an SFT run; in TOML every field is optional (defaults below) and unknown
/// fields are an error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftConfig {
    /// Prompt/response JSONL (`{"prompt": …, "response": …}` per line), or plain text (`.txt`:
    /// one document per non-empty line, trained on every token: language-model pretraining).
    pub data: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Start from this checkpoint directory (with its `tokenizer.json`) instead of a fresh model.
    pub init: Option<PathBuf>,
    /// Use this `tokenizer.json` for a fresh model (default: train a BPE on the data).
    pub tokenizer: Option<PathBuf>,
    /// BPE vocabulary size when training a tokenizer.
    pub vocab_size: usize,
    /// Fresh model: layers.
    pub layers: usize,
    /// Fresh model: width.
    pub hidden: usize,
    /// Fresh model: query heads.
    pub heads: usize,
    /// Fresh model: key/value heads.
    pub kv_heads: usize,
    /// Fresh model: SwiGLU width.
    pub ffn: usize,
    /// Longest prompt+response in tokens; longer examples are skipped and counted.
    pub max_len: usize,
    /// Optimiser steps.
    pub steps: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Peak learning rate (linear warm-up over 5% of the steps, then linear decay to 10%).
    pub lr: f64,
    /// Seed for init and data order.
    pub seed: u64,
    /// Backend.
    pub backend: BackendSpec,
    /// Save a checkpoint into `out/checkpoint-N` every this many steps (0: only at the end).
    pub save_every: usize,
    /// Storage type of the saved weights (`f32`, or `f16`/`bf16` for half-size files).
    pub save_dtype: StoreDtype,
    /// Train LoRA adapters on a frozen model instead of every weight (`[lora]`: rank, alpha,
    /// targets). Checkpoints then hold the merged model and the adapter in `adapter/`.
    pub lora: Option<LoraConfig>,
    /// Recompute memory-bound activations in the backward pass instead of keeping them (burn's
    /// balanced gradient checkpointing): less memory, more time.
    pub grad_checkpointing: bool,
}

impl Default for SftConfig {
    fn default() -> Self {
        Self {
            data: PathBuf::new(),
            out: PathBuf::from("runs/sft"),
            init: None,
            tokenizer: None,
            vocab_size: 512,
            layers: 4,
            hidden: 128,
            heads: 4,
            kv_heads: 2,
            ffn: 344,
            max_len: 128,
            steps: 800,
            batch_size: 32,
            lr: 2e-3,
            seed: 0,
            backend: BackendSpec::default(),
            save_every: 0,
            save_dtype: StoreDtype::F32,
            lora: None,
            grad_checkpointing: false,
        }
    }
}

impl SftConfig {
    /// Reads a TOML config; relative `data`, `init` and `tokenizer` paths stay relative to the
    /// working directory, as on the command line.
    pub fn load(path: &Path) -> Result<Self> {
        super::read_toml(path, "SFT")
    }
}

/// What an SFT run reports.
#[derive(Debug, Clone, Serialize)]
pub struct SftReport {
    /// Loss of the first step.
    pub first_loss: f64,
    /// Mean loss over the last 10% of steps.
    pub final_loss: f64,
    /// Examples trained on.
    pub examples: usize,
    /// Examples skipped because they exceed `max_len` tokens.
    pub skipped: usize,
    /// Response tokens per second of training.
    pub tokens_per_sec: f64,
    /// Parameters of the model.
    pub params: usize,
}

fn load_or_build(
    cfg: &SftConfig,
    data: &[PromptResponse],
    device: &burn::tensor::Device,
) -> Result<(CausalLm, TextTokenizer)> {
    if let Some(dir) = &cfg.init {
        let model = checkpoint::load(dir, device)
            .with_context(|| format!("loading --init {}", dir.display()))?;
        let tk = TextTokenizer::load(dir.join("tokenizer.json"))?;
        tk.check_model_vocab(model.config.vocab_size)?;
        return Ok((model, tk));
    }
    let tk = match &cfg.tokenizer {
        Some(p) => TextTokenizer::load(p)?,
        None => TextTokenizer::train_bpe(
            data.iter()
                .flat_map(|e| [e.prompt.clone(), e.response.clone()]),
            cfg.vocab_size,
        )?,
    };
    let mut mc = LlamaConfig::new(
        tk.vocab_size(),
        cfg.hidden,
        cfg.ffn,
        cfg.layers,
        cfg.heads,
        cfg.kv_heads,
        cfg.max_len.max(64),
    );
    mc.eos_token_id = tk.eos_id;
    mc.pad_token_id = tk.pad_id;
    mc.bos_token_id = tk.token_id(rlp_models::tokenizer::IM_START);
    let model = CausalLm::init(&mc, &mut SeededRng::new(cfg.seed).fork("init"), device)?;
    Ok((model, tk))
}

/// Reads the training data: JSONL records, or a `.txt` file whose non-empty lines become
/// examples with an empty prompt (every token is a target).
pub fn read_data(path: &Path) -> Result<Vec<PromptResponse>> {
    if path.extension().is_some_and(|e| e == "txt") {
        return Ok(rlp_core::jsonl::read_lines(path)?
            .into_iter()
            .map(|response| PromptResponse {
                prompt: String::new(),
                response,
            })
            .collect());
    }
    Ok(read_jsonl(path)?)
}

/// The callback of an SFT run: the progress bar (loss and response tokens per second), and in
/// every checkpoint the model as a loadable directory with its tokenizer.
struct SftProgress<'a> {
    bar: indicatif::ProgressBar,
    tokenizer: &'a TextTokenizer,
    lora: Option<&'a LoraConfig>,
    base: Option<&'a Path>,
    dtype: StoreDtype,
    tokens: Rc<Cell<usize>>,
    start: Instant,
}

impl Callback<SftTrainer> for SftProgress<'_> {
    fn on_step(&mut self, _: &SftTrainer, step: usize, s: &StepInfo) -> Result<(), TrainError> {
        let tps = self.tokens.get() as f64 / self.start.elapsed().as_secs_f64();
        self.bar.set_position(step as u64);
        self.bar
            .set_message(format!("loss {:.4}  {tps:.0} tok/s", s.loss));
        Ok(())
    }

    fn on_checkpoint(&mut self, t: &SftTrainer, _: usize, dir: &Path) -> Result<(), TrainError> {
        save_parts(t.model(), self.tokenizer, dir, self.dtype)?;
        super::lora::save_adapter_in(t.model(), self.lora, self.base, dir)?;
        Ok(())
    }
}

/// Runs SFT as `cfg` says into `cfg.out` (claimed by the caller); with `resume`, continues
/// from the newest `checkpoint-N` there (model, optimiser, data position) and ends with the
/// weights an uninterrupted run would have. Leaves the model in `cfg.out`.
pub fn run(cfg: &SftConfig, resume: bool) -> Result<SftReport> {
    let run = &RunDir::new(&cfg.out);
    if cfg.data.as_os_str().is_empty() {
        bail!("no training data: set `data` in the config or pass --data");
    }
    if cfg.steps == 0 || cfg.batch_size == 0 {
        bail!("`steps` and `batch_size` (--steps, --batch-size) must be positive");
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        bail!(
            "`lr` (--lr) must be a finite positive learning rate, got {}",
            cfg.lr
        );
    }
    rlp_train::run_dir::refuse_init_as_out(cfg.init.as_deref(), run.path())?;
    let data = read_data(&cfg.data)?;
    let device = super::lora::training_device(&cfg.backend, cfg.grad_checkpointing)?;
    // A resumed run takes its model's shape and its tokenizer from the checkpoint (a BPE
    // trained on the data is not rebuilt); its weights come from the trainer state.
    let (model, tk) = match run.latest_checkpoint().filter(|_| resume) {
        Some((_, dir)) => {
            let p = Pretrained::load(&dir, &device)
                .with_context(|| format!("--resume: loading {}", dir.display()))?;
            (p.model, p.tokenizer)
        }
        None => load_or_build(cfg, &data, &device)?,
    };
    // Adapters are attached afresh on resume too; the trainer state restores their values.
    let model = super::lora::adapt(model, cfg.lora.as_ref(), cfg.seed)?;
    let eos = tk
        .eos_id
        .context("the tokenizer has no <|im_end|> or <|endoftext|> token to end responses with")?;
    let pad = tk.pad_id.unwrap_or(eos);
    let max_len = cfg.max_len.min(model.config.max_position_embeddings);

    let mut examples = Vec::with_capacity(data.len());
    let mut skipped = 0;
    for (i, e) in data.iter().enumerate() {
        if e.response.is_empty() {
            bail!("{}:{}: empty response", cfg.data.display(), i + 1);
        }
        let p = tk.encode(&e.prompt)?;
        let mut r = tk.encode(&e.response)?;
        r.push(eos);
        if p.len() + r.len() > max_len {
            skipped += 1;
            continue;
        }
        examples.push((p, r));
    }
    if examples.is_empty() {
        bail!(
            "{}: all {} examples exceed --max-len {max_len} tokens",
            cfg.data.display(),
            data.len()
        );
    }
    if skipped > 0 {
        note!(
            "skipped {skipped} of {} examples longer than {max_len} tokens",
            data.len()
        );
    }
    if cfg.batch_size > examples.len() {
        bail!(
            "`batch_size` (--batch-size) {} exceeds the {} usable examples of {}",
            cfg.batch_size,
            examples.len(),
            cfg.data.display()
        );
    }
    let usable = examples.len();
    let params = model.param_count();
    let plan = SftPlan {
        steps: cfg.steps,
        batch_size: cfg.batch_size,
        lr: cfg.lr,
        seed: cfg.seed,
        pad,
        max_len,
    };
    super::check_ranks_agree(cfg, || super::token_bytes(&examples))?;
    let (mut trainer, tokens) = sft_trainer(model, examples, &plan)?;

    run.create()?;
    if parallel::is_writer() {
        write_atomic(
            &run.join("sft_config.json"),
            serde_json::to_string_pretty(cfg)?.as_bytes(),
        )?;
    }
    let mut progress = SftProgress {
        bar: super::progress_bar(cfg.steps),
        tokenizer: &tk,
        lora: cfg.lora.as_ref(),
        base: cfg.init.as_deref(),
        dtype: cfg.save_dtype,
        tokens: tokens.clone(),
        start: Instant::now(),
    };
    let options = DriveOptions {
        checkpoint_every: cfg.save_every,
        resume,
    };
    drive(&mut trainer, run, options, &mut [&mut progress])?;
    progress.bar.finish();
    let seconds = progress.start.elapsed().as_secs_f64();
    // Every rank counted the tokens of its own shards.
    let mut trained = [tokens.get() as f64];
    parallel::world().sum_f64(&mut trained);
    if parallel::is_writer() {
        save_parts(trainer.model(), &tk, run.path(), cfg.save_dtype)?;
        super::lora::save_adapter_in(
            trainer.model(),
            cfg.lora.as_ref(),
            cfg.init.as_deref(),
            run.path(),
        )?;
    }
    let losses = metric_column(&run.join(rlp_train::run_dir::METRICS_FILE), "loss")?;
    let tail = &losses[losses.len() - (cfg.steps / 10).max(1).min(losses.len())..];
    Ok(SftReport {
        first_loss: losses.first().copied().unwrap_or(f64::NAN),
        final_loss: tail.iter().sum::<f64>() / tail.len().max(1) as f64,
        examples: usable,
        skipped,
        tokens_per_sec: trained[0] / seconds,
        params,
    })
}

/// The numbers under `key` in a metrics JSONL file, in order.
fn metric_column(path: &Path, key: &str) -> Result<Vec<f64>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?[key].as_f64())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_files_become_prompt_free_examples() {
        let d = rlp_core::ScratchDir::new("sft-txt").unwrap();
        let p = d.join("corpus.txt");
        std::fs::write(&p, "first tweet\n\n  second one  \n").unwrap();
        let data = read_data(&p).unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(
            (data[0].prompt.as_str(), data[0].response.as_str()),
            ("", "first tweet")
        );
        assert_eq!(data[1].response, "second one");
        let e = read_data(&d.join("missing.txt")).unwrap_err();
        assert!(format!("{e:#}").contains("missing.txt"), "{e:#}");
    }
}
