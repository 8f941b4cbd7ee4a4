//! `rlp import`: convert a checkpoint from another format into an HF-style directory.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum ImportCommand {
    /// A llama.cpp GGUF (llama architecture; F32, F16, Q8_0, Q4_1) → config.json,
    /// model.safetensors (F32, HF names), tokenizer.json, tokenizer_config.json.
    Gguf {
        /// The .gguf file (`rlp fetch smollm2` prints where SmolLM2's is).
        input: PathBuf,
        /// The output directory (must not exist, or be empty).
        out: PathBuf,
    },
}

/// Runs `rlp import`.
pub(crate) fn run(c: ImportCommand) -> Result<()> {
    match c {
        ImportCommand::Gguf { input, out } => import_gguf(&input, &out),
    }
}

fn import_gguf(input: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let start = Instant::now();
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("import {bar:30} {pos}/{len} tensors {elapsed}")
            .expect("template"),
    );
    let r = rlp::models::gguf::import(input, out, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let types: Vec<String> = r.types.iter().map(|(t, n)| format!("{n} {t}")).collect();
    println!(
        "imported {} ({} tensors: {}; {:.1}M parameters; {} layers, d={}, vocab {}) to {} in {:.1} s",
        input.display(),
        r.tensors,
        types.join(", "),
        r.params as f64 / 1e6,
        r.config.num_hidden_layers,
        r.config.hidden_size,
        r.config.vocab_size,
        r.dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
