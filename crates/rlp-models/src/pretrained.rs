//! [`Pretrained`]: a causal LM with its tokenizer, as a Hugging Face directory holds them
//! (`config.json`, `model.safetensors`, `tokenizer.json`). Every run that writes or reads a
//! loadable model goes through it.

use std::path::Path;

use burn::tensor::Device;

use crate::checkpoint::{self, StoreDtype};
use crate::error::Result;
use crate::model::CausalLm;
use crate::tokenizer::TextTokenizer;

/// File name of the tokenizer inside a model directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The tokenizer's settings for transformers (special tokens, chat template, padding side).
pub const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";
/// Generation defaults for transformers (`bos`, `eos`, `pad` ids).
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";

/// A model and the tokenizer it reads.
#[derive(Debug, Clone)]
pub struct Pretrained {
    /// The model.
    pub model: CausalLm,
    /// Its tokenizer.
    pub tokenizer: TextTokenizer,
}

impl Pretrained {
    /// Loads the directory `dir` onto `device`; the tokenizer must fit the model's vocabulary.
    /// Errors name the directory.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let model = checkpoint::load(dir, device)?;
        let tokenizer = TextTokenizer::load(dir.join(TOKENIZER_FILE))?;
        tokenizer.check_model_vocab(model.config.vocab_size)?;
        Ok(Self { model, tokenizer })
    }

    /// Writes the directory `dir` (created if missing): `config.json` (naming `dtype`),
    /// `model.safetensors` (weights stored as `dtype`), `tokenizer.json`, and the
    /// `tokenizer_config.json` and `generation_config.json` that transformers' `AutoTokenizer`
    /// and `generate` read; each file written whole or not at all.
    pub fn save(&self, dir: impl AsRef<Path>, dtype: StoreDtype) -> Result<()> {
        save_parts(&self.model, &self.tokenizer, dir.as_ref(), dtype)
    }
}

/// [`Pretrained::save`] for a model and tokenizer held apart (no clone needed).
pub fn save_parts(
    model: &CausalLm,
    tokenizer: &TextTokenizer,
    dir: &Path,
    dtype: StoreDtype,
) -> Result<()> {
    checkpoint::save_as(model, dir, dtype)?;
    let tmp = dir.join(format!("{TOKENIZER_FILE}.tmp"));
    tokenizer.save(&tmp)?;
    std::fs::rename(&tmp, dir.join(TOKENIZER_FILE))
        .map_err(|e| crate::error::ModelError::io(dir.join(TOKENIZER_FILE), e))?;
    let config = &model.config;
    write_json(
        &dir.join(TOKENIZER_CONFIG_FILE),
        &tokenizer.hf_tokenizer_config(config.max_position_embeddings),
    )?;
    write_json(
        &dir.join(GENERATION_CONFIG_FILE),
        &generation_config(config, tokenizer),
    )
}

/// `generation_config.json`: the ids transformers' `generate` needs, stopping where rlp's
/// generation stops (the tokenizer's end-of-turn token, else the model's eos).
pub fn generation_config(
    config: &crate::config::LlamaConfig,
    tokenizer: &TextTokenizer,
) -> serde_json::Value {
    serde_json::json!({
        "bos_token_id": config.bos_token_id,
        "eos_token_id": tokenizer.eos_id.or(config.eos_token_id),
        "pad_token_id": tokenizer.pad_id.or(config.pad_token_id),
    })
}

/// Writes pretty-printed JSON through a temporary name.
fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value).expect("json serialises");
    std::fs::write(&tmp, text).map_err(|e| crate::error::ModelError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| crate::error::ModelError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LlamaConfig;
    use rlp_core::SeededRng;
    use rlp_core::device::test_backend;

    #[test]
    fn a_saved_directory_loads_back_the_same_model() {
        let device = test_backend().device().unwrap();
        let tokenizer = TextTokenizer::train_bpe(
            ["one two three", "four five six"]
                .map(String::from)
                .into_iter(),
            300,
        )
        .unwrap();
        let config = LlamaConfig::new(tokenizer.vocab_size(), 16, 32, 1, 2, 1, 32);
        let model = CausalLm::init(&config, &mut SeededRng::new(0), &device).unwrap();
        let d = rlp_core::ScratchDir::new("pretrained").unwrap();
        let p = Pretrained { model, tokenizer };
        p.save(d.path(), StoreDtype::F32).unwrap();
        let back = Pretrained::load(d.path(), &device).unwrap();
        assert_eq!(
            checkpoint::host_tensors(&back.model),
            checkpoint::host_tensors(&p.model)
        );
        assert_eq!(back.tokenizer.vocab_size(), p.tokenizer.vocab_size());
        assert!(!d.join("tokenizer.json.tmp").exists());
        let e = Pretrained::load(d.join("missing"), &device).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn a_saved_directory_is_what_transformers_reads() {
        // tokenizer_config.json (eos, pad, ChatML template, left padding), generation_config.json,
        // and a config.json whose dtype names the stored one.
        let device = test_backend().device().unwrap();
        let tokenizer =
            TextTokenizer::train_bpe(["one two three"].map(String::from).into_iter(), 300).unwrap();
        let mut config = LlamaConfig::new(tokenizer.vocab_size(), 16, 32, 1, 2, 1, 32);
        config.bos_token_id = Some(1);
        let model = CausalLm::init(&config, &mut SeededRng::new(0), &device).unwrap();
        let d = rlp_core::ScratchDir::new("pretrained-hf").unwrap();
        save_parts(&model, &tokenizer, d.path(), StoreDtype::F16).unwrap();
        let read = |name: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(d.join(name)).unwrap()).unwrap()
        };
        let tk = read(TOKENIZER_CONFIG_FILE);
        assert_eq!(tk["eos_token"], "<|im_end|>");
        assert_eq!(tk["pad_token"], "<|endoftext|>");
        assert_eq!(tk["padding_side"], "left");
        assert_eq!(tk["model_max_length"], 32);
        assert!(
            tk["chat_template"]
                .as_str()
                .unwrap()
                .contains("<|im_start|>")
        );
        let g = read(GENERATION_CONFIG_FILE);
        assert_eq!(
            (g["bos_token_id"].clone(), g["eos_token_id"].clone()),
            (1.into(), 2.into())
        );
        assert_eq!(g["pad_token_id"], 0);
        assert_eq!(read("config.json")["torch_dtype"], "float16");
        let st = std::fs::read(d.join("model.safetensors")).unwrap();
        assert!(String::from_utf8_lossy(&st[..200]).contains("F16"));
        // A tokenizer loaded with its own tokenizer_config.json writes that one back.
        let back = Pretrained::load(d.path(), &device).unwrap();
        assert_eq!(back.tokenizer.hf_tokenizer_config(7), tk);
        assert_eq!(back.model.config.torch_dtype, "float16");
        save_parts(&back.model, &back.tokenizer, d.path(), StoreDtype::F32).unwrap();
        assert_eq!(read("config.json")["torch_dtype"], "float32");
        // A loaded tokenizer_config.json that lacks the pad token and the padding side (as
        // older GGUF imports wrote it) gets them; what it has is kept.
        std::fs::write(
            d.join(TOKENIZER_CONFIG_FILE),
            r#"{"eos_token": "<|im_end|>", "chat_template": "mine"}"#,
        )
        .unwrap();
        let back = Pretrained::load(d.path(), &device).unwrap();
        let filled = back.tokenizer.hf_tokenizer_config(7);
        assert_eq!(filled["chat_template"], "mine");
        assert_eq!(filled["pad_token"], "<|endoftext|>");
        assert_eq!(filled["padding_side"], "left");
    }
}
