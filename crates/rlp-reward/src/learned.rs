//! [`LearnedReward`]: a trained [`RewardModel`] with its tokenizer as a [`RewardFn`], so any
//! optimiser or evaluator can be pointed at it. Texts longer than the context keep their last
//! `max_len` tokens (a reward must score every text).

use std::path::Path;

use burn::tensor::Device;
use rlp_core::tensor_io::to_f32;
use rlp_core::{BoxError, RewardFn};
use rlp_models::TextTokenizer;

use crate::encode::{collate_scores, encode_for_scoring};
use crate::error::Result;
use crate::model::RewardModel;

/// A reward model and its tokenizer, scoring `(prompt, response)` texts.
pub struct LearnedReward {
    /// The model.
    pub model: RewardModel,
    /// Its tokenizer (must fit the model's vocabulary).
    pub tokenizer: TextTokenizer,
    /// Context length in tokens.
    pub max_len: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// The name reports use.
    pub name: String,
}

impl LearnedReward {
    /// Pairs a model with its tokenizer (checked against the vocabulary); `max_len` defaults to
    /// the model's `max_position_embeddings`, `batch_size` to 32.
    pub fn new(
        model: RewardModel,
        tokenizer: TextTokenizer,
        name: impl Into<String>,
    ) -> Result<Self> {
        tokenizer.check_model_vocab(model.backbone.config.vocab_size)?;
        Ok(Self {
            max_len: model.backbone.config.max_position_embeddings,
            model,
            tokenizer,
            batch_size: 32,
            name: name.into(),
        })
    }

    /// Loads a reward-model directory (`config.json`, `model.safetensors` with `score.*`,
    /// `tokenizer.json`), named after the directory.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let model = RewardModel::load(dir, device)?;
        let tokenizer = TextTokenizer::load(dir.join("tokenizer.json"))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "reward-model".into());
        Self::new(model, tokenizer, name)
    }

    /// Scores of `prompts[i] + responses[i]`.
    pub fn score_texts(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>> {
        let ids = encode_for_scoring(&self.tokenizer, prompts, responses, self.max_len)?;
        let device = self.model.backbone.device();
        let pad = self.tokenizer.pad_id.unwrap_or(0);
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.batch_size.max(1)) {
            let seqs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
            out.extend(to_f32(
                self.model.score(&collate_scores(&seqs, pad, &device)),
            ));
        }
        Ok(out)
    }
}

impl RewardFn for LearnedReward {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
        Ok(self.score_texts(prompts, responses)?)
    }
}
