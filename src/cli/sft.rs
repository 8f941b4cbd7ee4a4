//! `rlp sft`: supervised fine-tuning on prompt/response JSONL (or pretraining on text lines).

use std::path::PathBuf;

use anyhow::Result;
use rlp::runs::sft;
use rlp::train::Existing;

use super::{
    BackendFlag, LoraFlags, OverwriteFlag, ResumeFlag, SetFlag, apply_sets, outdir,
    parse_store_dtype,
};

#[derive(clap::Args)]
pub(crate) struct SftArgs {
    /// TOML config (`SftConfig`: every field optional, defaults as below); flags override it.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) set: SetFlag,
    /// Prompt/response JSONL, or a .txt file with one document per line (pretraining).
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Output directory (checkpoint, tokenizer, metrics.jsonl) [default: runs/sft].
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out_flag: OverwriteFlag,
    /// Start from this checkpoint directory.
    #[arg(long)]
    pub(crate) init: Option<PathBuf>,
    /// tokenizer.json for a fresh model (default: train a byte-level BPE on the data).
    #[arg(long)]
    pub(crate) tokenizer: Option<PathBuf>,
    /// BPE vocabulary size when training one [default: 512].
    #[arg(long)]
    pub(crate) vocab_size: Option<usize>,
    /// Fresh model: layers [default: 4].
    #[arg(long)]
    pub(crate) layers: Option<usize>,
    /// Fresh model: width [default: 128].
    #[arg(long)]
    pub(crate) hidden: Option<usize>,
    /// Fresh model: query heads [default: 4].
    #[arg(long)]
    pub(crate) heads: Option<usize>,
    /// Fresh model: key/value heads [default: 2].
    #[arg(long)]
    pub(crate) kv_heads: Option<usize>,
    /// Fresh model: SwiGLU width [default: 344].
    #[arg(long)]
    pub(crate) ffn: Option<usize>,
    /// Longest example in tokens (longer ones are skipped and counted) [default: 128].
    #[arg(long)]
    pub(crate) max_len: Option<usize>,
    /// Optimiser steps [default: 800].
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Examples per step [default: 32].
    #[arg(long)]
    pub(crate) batch_size: Option<usize>,
    /// Peak learning rate [default: 2e-3].
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Seed (init and data order) [default: 0].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
    #[command(flatten)]
    pub(crate) lora: LoraFlags,
    /// Save a resumable checkpoint-N every N steps (0: only the final model) [default: 0].
    #[arg(long)]
    pub(crate) save_every: Option<usize>,
    #[command(flatten)]
    pub(crate) resume: ResumeFlag,
    /// Storage type of the saved weights: f32, f16 or bf16 (half the size) [default: f32].
    #[arg(long, value_parser = parse_store_dtype)]
    pub(crate) save_dtype: Option<rlp::models::checkpoint::StoreDtype>,
}

/// Runs `rlp sft`.
pub(crate) fn run(a: SftArgs) -> Result<()> {
    let (flag, a_resume) = (a.out_flag, a.resume.resume);
    let cfg = sft_config(a)?;
    outdir::refuse_init_as_out(cfg.init.as_deref(), &cfg.out)?;
    let existing = Existing::from_flags(flag.overwrite, a_resume);
    let r = outdir::run_in(&cfg.out, existing, true, |_| sft::run(&cfg, a_resume))?;
    report!(
        "sft: {} examples ({} skipped), {} params, loss {:.4} → {:.4}, {:.0} tokens/s; saved to {}",
        r.examples,
        r.skipped,
        r.params,
        r.first_loss,
        r.final_loss,
        r.tokens_per_sec,
        cfg.out.display()
    );
    Ok(())
}

/// The SFT config: the TOML file (or the defaults), then every flag given.
fn sft_config(a: SftArgs) -> Result<sft::SftConfig> {
    let mut c = match &a.config {
        Some(path) => sft::SftConfig::load(path)?,
        None => sft::SftConfig::default(),
    };
    c = apply_sets(c, &a.set.set)?;
    macro_rules! set {
        ($($field:ident),*) => { $(if let Some(v) = a.$field { c.$field = v; })* };
    }
    set!(
        data, out, vocab_size, layers, hidden, heads, kv_heads, ffn, max_len, steps
    );
    set!(batch_size, lr, seed, save_every, save_dtype);
    if let Some(v) = a.init {
        c.init = Some(v);
    }
    if let Some(v) = a.tokenizer {
        c.tokenizer = Some(v);
    }
    a.backend.apply(&mut c.backend);
    a.lora.apply(&mut c.lora, &mut c.grad_checkpointing);
    if let Some(l) = &c.lora {
        l.validate("sft config")?;
    }
    Ok(c)
}
