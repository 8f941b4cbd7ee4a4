//! `rlp lora`: LoRA adapters in PEFT's format. `merge` folds an adapter into its base model and
//! writes a plain Hugging Face checkpoint.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rlp::models::TextTokenizer;
use rlp::models::checkpoint::{self, StoreDtype};
use rlp::models::lora::{load_adapter, merge};
use rlp::models::pretrained::{TOKENIZER_FILE, save_parts};

use super::{BackendFlag, OverwriteFlag, parse_store_dtype};

#[derive(Subcommand)]
pub(crate) enum LoraCommand {
    /// Merge a PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors: one rlp
    /// wrote, or Python peft's) into its base model: W ← W + (α/r)·A·B. Writes config.json and
    /// model.safetensors, and copies the base's tokenizer files.
    Merge {
        /// The base model directory (config.json, model.safetensors).
        #[arg(long)]
        base: PathBuf,
        /// The adapter directory.
        #[arg(long)]
        adapter: PathBuf,
        /// The output directory (must not exist or be empty, unless --overwrite).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        out_flag: OverwriteFlag,
        /// Storage type of the merged weights: f32, f16 or bf16 [default: f32].
        #[arg(long, value_parser = parse_store_dtype)]
        save_dtype: Option<StoreDtype>,
        #[command(flatten)]
        backend: BackendFlag,
    },
}

/// The files a merged checkpoint takes over from a base without a `tokenizer.json` rlp reads.
const BASE_FILES: [&str; 3] = [
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
];

/// Runs `rlp lora`.
pub(crate) fn run(c: LoraCommand) -> Result<()> {
    match c {
        LoraCommand::Merge {
            base,
            adapter,
            out,
            out_flag,
            save_dtype,
            backend,
        } => merge_into(
            &base,
            &adapter,
            &out,
            out_flag.overwrite,
            save_dtype.unwrap_or_default(),
            &backend,
        ),
    }
}

fn merge_into(
    base: &Path,
    adapter: &Path,
    out: &Path,
    overwrite: bool,
    dtype: StoreDtype,
    backend: &BackendFlag,
) -> Result<()> {
    let start = Instant::now();
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(base, out) || same(adapter, out) {
        bail!(
            "--out {} is an input directory; choose another",
            out.display()
        );
    }
    if out.is_file() {
        bail!("--out {} is a file, not a directory", out.display());
    }
    let occupied = out
        .read_dir()
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if occupied && !overwrite {
        bail!(
            "--out {} is not empty; pass --overwrite to replace its files, or choose another",
            out.display()
        );
    }
    let device = backend.spec().device()?;
    let model = checkpoint::load(base, &device)
        .with_context(|| format!("loading --base {}", base.display()))?;
    let (adapted, lora) = load_adapter(model, adapter).with_context(|| {
        format!(
            "loading --adapter {} onto {}",
            adapter.display(),
            base.display()
        )
    })?;
    let merged = merge(adapted);
    // With the base's tokenizer, the output is a whole HF directory (tokenizer_config.json and
    // generation_config.json completed as every rlp checkpoint has them); otherwise the weights.
    let tokenizer_file = base.join(TOKENIZER_FILE);
    let mut copied = Vec::new();
    if tokenizer_file.is_file() {
        let tokenizer = TextTokenizer::load(&tokenizer_file)?;
        save_parts(&merged, &tokenizer, out, dtype)?;
        copied.extend([
            TOKENIZER_FILE,
            "tokenizer_config.json",
            "generation_config.json",
        ]);
    } else {
        checkpoint::save_as(&merged, out, dtype)?;
    }
    for name in BASE_FILES {
        let from = base.join(name);
        if from.is_file() && !copied.contains(&name) {
            std::fs::copy(&from, out.join(name))
                .with_context(|| format!("copying {} into {}", from.display(), out.display()))?;
            copied.push(name);
        }
    }
    println!(
        "merged {} (r={}, α={}, {}) into {} → {} ({}) in {:.1} s",
        adapter.display(),
        lora.rank,
        lora.alpha,
        lora.target_names(),
        base.display(),
        out.display(),
        if copied.is_empty() {
            "no tokenizer files in the base".to_string()
        } else {
            format!("with {}", copied.join(", "))
        },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
