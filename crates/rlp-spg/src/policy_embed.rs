//! [`PolicyEmbedder`]: sentence embeddings from a causal language model (the SFT policy) for the
//! [`crate::EmbeddingClusterer`], so RLP-SPG can cluster offline, with nothing to fetch: the
//! L2-normalised mean of the final (normed) hidden states over a text's tokens, the same pooling
//! all-MiniLM-L6-v2 uses. A decoder trained only on next-token prediction is a weaker judge of
//! meaning than a sentence encoder trained on paraphrases, so its threshold must be measured on
//! the task (its cosines run higher than MiniLM's).

use burn::tensor::{Int, Tensor};
use rlp_core::tensor_io::{ints, to_f32};
use rlp_models::bert::{l2_normalize, mean_pool};
use rlp_models::{CausalLm, TextTokenizer};

use crate::embedding::Embedder;
use crate::error::Result;

/// A causal LM and its tokenizer as an [`Embedder`].
#[derive(Debug, Clone)]
pub struct PolicyEmbedder {
    /// The model whose hidden states are pooled.
    pub model: CausalLm,
    /// Its tokenizer.
    pub tokenizer: TextTokenizer,
    /// Texts per forward pass (sorted by length first, so batches pad little).
    pub batch_size: usize,
}

impl PolicyEmbedder {
    /// Pairs `model` and `tokenizer`, 32 texts per pass.
    pub fn new(model: CausalLm, tokenizer: TextTokenizer) -> Self {
        Self {
            model,
            tokenizer,
            batch_size: 32,
        }
    }

    /// Token ids of `text`, cut to the context window; an empty text is its EOS (else pad)
    /// token alone, so every text has one real token.
    fn ids(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.tokenizer.encode(text)?;
        ids.truncate(self.model.config.max_position_embeddings);
        if ids.is_empty() {
            ids.push(self.tokenizer.eos_id.or(self.tokenizer.pad_id).unwrap_or(0));
        }
        Ok(ids)
    }
}

impl Embedder for PolicyEmbedder {
    fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.tokenizer
            .check_model_vocab(self.model.config.vocab_size)?;
        let ids = texts
            .iter()
            .map(|t| self.ids(t))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let device = self.model.device();
        let pad = i64::from(self.tokenizer.pad_id.unwrap_or(0));
        let d = self.model.config.hidden_size;
        let mut out = vec![Vec::new(); ids.len()];
        for chunk in order.chunks(self.batch_size.max(1)) {
            let (b, t) = (chunk.len(), ids[chunk[0]].len());
            let (mut flat, mut mask) = (Vec::with_capacity(b * t), Vec::with_capacity(b * t));
            for &i in chunk {
                let row = &ids[i];
                flat.extend(row.iter().map(|&x| i64::from(x)));
                flat.extend(std::iter::repeat_n(pad, t - row.len()));
                mask.extend(std::iter::repeat_n(1i64, row.len()));
                mask.extend(std::iter::repeat_n(0i64, t - row.len()));
            }
            // Right padding: a causal model's real tokens never attend to the pads after them.
            let hidden = self.model.hidden_states(ints(flat, [b, t], &device), None);
            let mask: Tensor<2, Int> = ints(mask, [b, t], &device);
            let pooled = to_f32(l2_normalize(mean_pool(hidden, mask)));
            for (&i, v) in chunk.iter().zip(pooled.chunks_exact(d)) {
                out[i] = v.to_vec();
            }
        }
        Ok(out)
    }
}
