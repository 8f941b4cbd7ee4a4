//! [`BertModel`]: embeddings and the encoder stack, returning the last hidden state
//! (`BertModel(...).last_hidden_state` in transformers; the pooler is not part of it).

use burn::module::Module;
use burn::tensor::{Bool, Int, Tensor};
use rlp_core::tensor_io::to_i64;

use super::config::BertConfig;
use super::embeddings::BertEmbeddings;
use super::layer::BertLayer;
use crate::error::{ModelError, Result};

/// A BERT encoder: [`BertEmbeddings`] and `num_hidden_layers` [`BertLayer`]s.
#[derive(Module, Debug)]
pub struct BertModel {
    /// `embeddings`.
    pub embeddings: BertEmbeddings,
    /// `encoder.layer.N`.
    pub layers: Vec<BertLayer>,
    /// The configuration the model was built from.
    #[module(skip)]
    pub config: BertConfig,
}

impl BertModel {
    /// `input_ids: [b, s]`, `attention_mask: [b, s]` (1 = real token, 0 = padding; BERT pads
    /// on the right) → `last_hidden_state: [b, s, d]`. Every token has segment id 0.
    ///
    /// Padding keys are masked out of attention; the outputs at padding positions are
    /// meaningless (as in transformers) and must be ignored, e.g. by
    /// [`mean_pool`](super::pooling::mean_pool). Both inputs are checked on the host: equal
    /// shapes, `0 < s ≤ max_position_embeddings`, ids below `vocab_size`, mask values in
    /// {0, 1} with at least one real token per row.
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Tensor<2, Int>,
    ) -> Result<Tensor<3>> {
        let [b, s] = input_ids.dims();
        if attention_mask.dims() != [b, s] {
            return Err(ModelError::input(
                "attention_mask",
                format!(
                    "shape {:?} differs from input_ids' {:?}",
                    attention_mask.dims(),
                    [b, s]
                ),
            ));
        }
        if b == 0 || s == 0 {
            return Err(ModelError::input(
                "input_ids",
                format!("empty shape {:?}", [b, s]),
            ));
        }
        let max = self.config.max_position_embeddings;
        if s > max {
            return Err(ModelError::input(
                "input_ids",
                format!("{s} tokens exceed max_position_embeddings = {max}"),
            ));
        }
        let vocab = self.config.vocab_size as i64;
        if let Some(id) = to_i64(input_ids.clone())
            .into_iter()
            .find(|&id| id < 0 || id >= vocab)
        {
            return Err(ModelError::input(
                "input_ids",
                format!("id {id} is outside the vocabulary 0..{vocab}"),
            ));
        }
        let host_mask = to_i64(attention_mask.clone());
        if let Some(v) = host_mask.iter().find(|&&v| v != 0 && v != 1) {
            return Err(ModelError::input(
                "attention_mask",
                format!("value {v} (must be 0 or 1)"),
            ));
        }
        if let Some(row) = host_mask.chunks(s).position(|r| r.iter().all(|&v| v == 0)) {
            return Err(ModelError::input(
                "attention_mask",
                format!("row {row} has no real token"),
            ));
        }
        let heads = self.config.num_attention_heads;
        let mask: Option<Tensor<4, Bool>> = host_mask.contains(&0).then(|| {
            attention_mask
                .equal_elem(0)
                .reshape([b, 1, 1, s])
                .expand([b, heads, s, s])
        });
        let mut x = self.embeddings.forward(input_ids);
        for layer in &self.layers {
            x = layer.forward(x, mask.clone());
        }
        Ok(x)
    }
}
