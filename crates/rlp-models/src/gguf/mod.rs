//! GGUF import: a llama.cpp `llama` GGUF (v2/v3; F32, F16, Q8_0 and Q4_1 tensors) becomes a
//! Hugging Face checkpoint directory that [`crate::checkpoint::load`] and `transformers` both
//! read: `config.json`, `model.safetensors` (F32, HF names, q/k un-permuted), `tokenizer.json`
//! (byte-level BPE rebuilt from the GGUF vocabulary and merges) and `tokenizer_config.json`
//! (special tokens and chat template). The directory is written under a temporary name and
//! renamed at the end, so a failed import leaves nothing behind.
//!
//! - [`reader`]: the container format;
//! - [`quant`]: ggml types and dequantization;
//! - [`llama`]: metadata → `LlamaConfig`, tensors → HF names and layout;
//! - [`vocab`]: tokenizer metadata → `tokenizer.json`.

pub mod llama;
pub mod quant;
pub mod reader;
pub mod vocab;

use std::path::{Path, PathBuf};

pub use reader::{GgufFile, MetaValue, TensorInfo};

use crate::checkpoint;
use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};

/// File name of the tokenizer inside a checkpoint directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// File name of the tokenizer config (special tokens, chat template).
pub const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";

/// What [`import`] wrote.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The checkpoint directory.
    pub dir: PathBuf,
    /// The model's config.
    pub config: LlamaConfig,
    /// Number of tensors written.
    pub tensors: usize,
    /// Number of parameters (tied embeddings counted once).
    pub params: usize,
    /// Tensor counts by GGUF type name, e.g. `[("Q4_1", 210), ("F32", 61), ("Q8_0", 1)]`.
    pub types: Vec<(String, usize)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |e| ModelError::io(path, e)
}

/// Converts the GGUF at `input` into a checkpoint directory `out`, which must not exist yet
/// (or be empty). `progress(done, total)` is called per tensor.
pub fn import(
    input: impl AsRef<Path>,
    out: impl AsRef<Path>,
    progress: impl FnMut(usize, usize),
) -> Result<ImportReport> {
    let (input, out) = (input.as_ref(), out.as_ref());
    if out.exists() {
        let empty = out.is_dir() && std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty {
            return Err(ModelError::input(
                "out",
                format!(
                    "{} already exists; remove it or pick another directory",
                    out.display()
                ),
            ));
        }
    }
    let g = GgufFile::open(input)?;
    let config = llama::config(&g)?;
    let tokenizer = vocab::tokenizer_json(&g)?;
    let tokenizer_config = vocab::tokenizer_config_json(&g, config.max_position_embeddings)?;
    let tok_text = serde_json::to_string(&tokenizer).expect("json");
    let loaded: tokenizers::Tokenizer = tok_text.parse().map_err(|e| ModelError::Gguf {
        path: input.to_path_buf(),
        what: "tokenizer.ggml.*".into(),
        message: format!("the rebuilt tokenizer does not load: {e}"),
    })?;
    if loaded.get_vocab_size(true) > config.vocab_size {
        return Err(ModelError::Gguf {
            path: input.to_path_buf(),
            what: "tokenizer.ggml.tokens".into(),
            message: format!(
                "{} tokens but llama.vocab_size is {}",
                loaded.get_vocab_size(true),
                config.vocab_size
            ),
        });
    }
    let tensors = llama::tensors(&g, &config, progress)?;
    for (name, shape) in checkpoint::expected_tensors(&config) {
        match tensors.get(&name) {
            None => {
                return Err(ModelError::Gguf {
                    path: input.to_path_buf(),
                    what: name,
                    message: "missing (needed by the config)".into(),
                });
            }
            Some((s, _)) if *s != shape => {
                return Err(ModelError::Gguf {
                    path: input.to_path_buf(),
                    what: name,
                    message: format!("shape {s:?}, expected {shape:?} from the metadata"),
                });
            }
            _ => {}
        }
    }
    let mut types: Vec<(String, usize)> = Vec::new();
    for t in &g.tensors {
        let n = t.ty.name();
        match types.iter_mut().find(|(k, _)| *k == n) {
            Some((_, c)) => *c += 1,
            None => types.push((n, 1)),
        }
    }
    let params = tensors.values().map(|(_, v)| v.len()).sum();
    let n_tensors = tensors.len();
    drop(g);

    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let leaf = out
        .file_name()
        .map_or("import".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{leaf}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let written = (|| -> Result<()> {
        config.save(tmp.join(checkpoint::CONFIG_FILE))?;
        let p = tmp.join(TOKENIZER_FILE);
        std::fs::write(&p, &tok_text).map_err(io(&p))?;
        let p = tmp.join(TOKENIZER_CONFIG_FILE);
        std::fs::write(
            &p,
            serde_json::to_string_pretty(&tokenizer_config).expect("json"),
        )
        .map_err(io(&p))?;
        let mut named: Vec<_> = tensors.into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        checkpoint::write_safetensors(&named, &tmp.join(checkpoint::WEIGHTS_FILE))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if out.exists() {
        std::fs::remove_dir(out).map_err(io(out))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        ModelError::io(out, e)
    })?;
    Ok(ImportReport {
        dir: out.to_path_buf(),
        config,
        tensors: n_tensors,
        params,
        types,
    })
}

#[cfg(test)]
mod tests;
