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

    /// Writes the directory `dir` (created if missing): `config.json`, `model.safetensors`
    /// (weights stored as `dtype`) and `tokenizer.json`, each file written whole or not at all.
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
    checkpoint::save(model, dir)?;
    if dtype != StoreDtype::F32 {
        checkpoint::save_weights_as(model, dir, dtype)?;
    }
    let tmp = dir.join(format!("{TOKENIZER_FILE}.tmp"));
    tokenizer.save(&tmp)?;
    std::fs::rename(&tmp, dir.join(TOKENIZER_FILE))
        .map_err(|e| crate::error::ModelError::io(dir.join(TOKENIZER_FILE), e))
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
}
