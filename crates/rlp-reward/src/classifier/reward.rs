//! [`ClassifierReward`]: a [`SequenceClassifier`] and its tokenizer as a [`RewardFn`],
//! `r(x, y) = Σ_c w_c · P(c | x + y)` — e.g. `P(positive) − P(negative)` ∈ [−1, 1], the gold
//! sentiment score of `tweet-sentiment`. Texts longer than the context keep their last
//! `max_len` tokens (a reward must score every text).

use std::path::Path;

use burn::tensor::Device;
use rlp_core::{BoxError, RewardFn};
use rlp_models::TextTokenizer;

use super::SequenceClassifier;
use super::train::predict;
use crate::encode::encode_for_scoring;
use crate::error::{Result, RewardError};

/// A classifier scoring texts by a weighted sum of its class probabilities.
pub struct ClassifierReward {
    /// The classifier.
    pub model: SequenceClassifier,
    /// Its tokenizer (must fit the model's vocabulary).
    pub tokenizer: TextTokenizer,
    /// `w_c`, one weight per class in the model's order.
    pub weights: Vec<f32>,
    /// Context length in tokens.
    pub max_len: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// The name reports use.
    pub name: String,
}

impl ClassifierReward {
    /// `r = P(plus) − P(minus)`; both must be classes of `model`. `max_len` defaults to the
    /// model's `max_position_embeddings`, `batch_size` to 64.
    pub fn difference(
        model: SequenceClassifier,
        tokenizer: TextTokenizer,
        plus: &str,
        minus: &str,
        name: impl Into<String>,
    ) -> Result<Self> {
        tokenizer.check_model_vocab(model.backbone.config.vocab_size)?;
        let mut weights = vec![0.0; model.labels.len()];
        for (label, w) in [(plus, 1.0), (minus, -1.0)] {
            let i = model.label_index(label).ok_or_else(|| {
                RewardError::invalid(
                    "label",
                    format!("`{label}` is not one of {:?}", model.labels),
                )
            })?;
            weights[i] += w;
        }
        Ok(Self {
            max_len: model.backbone.config.max_position_embeddings,
            model,
            tokenizer,
            weights,
            batch_size: 64,
            name: name.into(),
        })
    }

    /// Loads a classifier directory (`config.json`, `model.safetensors`, `labels.json`,
    /// `tokenizer.json`) as `P(plus) − P(minus)`.
    pub fn load_difference(
        dir: impl AsRef<Path>,
        plus: &str,
        minus: &str,
        device: &Device,
    ) -> Result<Self> {
        let dir = dir.as_ref();
        let model = SequenceClassifier::load(dir, device)?;
        let tokenizer = TextTokenizer::load(dir.join("tokenizer.json"))?;
        let name = format!("P({plus}) − P({minus})");
        Self::difference(model, tokenizer, plus, minus, name)
    }

    /// Scores of `prompts[i] + responses[i]`.
    pub fn score_texts(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>> {
        let ids = encode_for_scoring(&self.tokenizer, prompts, responses, self.max_len)?;
        let pad = self.tokenizer.pad_id.unwrap_or(0);
        let probs = predict(&self.model, &ids, pad, self.batch_size);
        Ok(probs
            .iter()
            .map(|p| p.iter().zip(&self.weights).map(|(p, w)| p * w).sum())
            .collect())
    }
}

impl RewardFn for ClassifierReward {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
        Ok(self.score_texts(prompts, responses)?)
    }
}
