//! [`SentenceEncoder`]: text → sentence embeddings with a BERT checkpoint, reproducing
//! sentence-transformers' `Transformer → Pooling(mean) → Normalize` pipeline (as used by
//! all-MiniLM-L6-v2): WordPiece tokenisation with `[CLS]`/`[SEP]`, truncation to
//! `max_seq_length`, right padding to the longest sentence of a batch, mean pooling over the
//! real tokens and L2 normalisation.

use std::path::Path;

use burn::tensor::Device;
use rlp_core::tensor_io::{ints, to_f32};
use tokenizers::Tokenizer;
use tokenizers::utils::truncation::{TruncationDirection, TruncationParams, TruncationStrategy};

use super::load::load_bert;
use super::model::BertModel;
use super::pooling::{l2_normalize, mean_pool};
use crate::error::{ModelError, Result};

/// File name of the tokenizer inside a model directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2 (tokens, `[CLS]`/`[SEP]`
/// included).
pub const DEFAULT_MAX_LEN: usize = 256;
/// Sentences per forward pass (sentence-transformers' default `batch_size`).
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// A BERT encoder with its tokenizer, embedding sentences as sentence-transformers does.
#[derive(Debug)]
pub struct SentenceEncoder {
    /// The encoder.
    pub model: BertModel,
    /// The tokenizer, with padding disabled and truncation set to [`Self::max_len`].
    tokenizer: Tokenizer,
    /// Longest tokenised sentence, special tokens included; longer ones are truncated.
    max_len: usize,
    /// Sentences per forward pass; inputs are sorted by length first so that each batch pads
    /// little. Results do not depend on it beyond floating-point rounding.
    pub batch_size: usize,
    device: Device,
}

fn tok_err(what: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(what.to_string())
}

impl SentenceEncoder {
    /// Loads `dir/config.json`, `dir/model.safetensors` and `dir/tokenizer.json` onto `device`,
    /// with `max_len` [`DEFAULT_MAX_LEN`] (capped at `max_position_embeddings`). Any padding or
    /// truncation stored in `tokenizer.json` is replaced.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let model = load_bert(dir, device)?;
        let path = dir.join(TOKENIZER_FILE);
        let tokenizer =
            Tokenizer::from_file(&path).map_err(|e| tok_err(format!("{}: {e}", path.display())))?;
        Self::new(model, tokenizer, device)
    }

    /// Pairs a model with its tokenizer (checking that the tokenizer's ids fit the vocabulary).
    pub fn new(model: BertModel, mut tokenizer: Tokenizer, device: &Device) -> Result<Self> {
        let (tok_vocab, vocab) = (tokenizer.get_vocab_size(true), model.config.vocab_size);
        if tok_vocab > vocab {
            return Err(ModelError::VocabMismatch {
                tokenizer: tok_vocab,
                model: vocab,
            });
        }
        tokenizer.with_padding(None);
        let max_len = DEFAULT_MAX_LEN.min(model.config.max_position_embeddings);
        let mut encoder = Self {
            model,
            tokenizer,
            max_len,
            batch_size: DEFAULT_BATCH_SIZE,
            device: device.clone(),
        };
        encoder.set_max_len(max_len)?;
        Ok(encoder)
    }

    /// Sets the truncation length (special tokens included): `2 ≤ max_len ≤
    /// max_position_embeddings`.
    pub fn set_max_len(&mut self, max_len: usize) -> Result<()> {
        let max = self.model.config.max_position_embeddings;
        if !(2..=max).contains(&max_len) {
            return Err(ModelError::input(
                "max_len",
                format!("{max_len} is not in 2..={max} (max_position_embeddings)"),
            ));
        }
        self.tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(tok_err)?;
        self.max_len = max_len;
        Ok(())
    }

    /// The truncation length, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The tokenizer (padding disabled, truncation at [`Self::max_len`]).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Width of the embeddings (`hidden_size`).
    pub fn dim(&self) -> usize {
        self.model.config.hidden_size
    }

    /// Token ids of each text as the model sees them: `[CLS] … [SEP]`, truncated, unpadded.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(tok_err)?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// Unit-length sentence embeddings, one `dim()`-vector per text, in input order (what
    /// `SentenceTransformer.encode` returns for all-MiniLM-L6-v2). An empty list gives an
    /// empty result; an empty string is embedded as `[CLS] [SEP]`.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.run(texts, true)
    }

    /// Like [`Self::embed`] without the final L2 normalisation: the masked mean of the last
    /// hidden state.
    pub fn embed_unnormalized(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.run(texts, false)
    }

    fn run(&self, texts: &[&str], normalize: bool) -> Result<Vec<Vec<f32>>> {
        let ids = self.tokenize(texts)?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut out = vec![Vec::new(); ids.len()];
        let pad = i64::from(self.model.config.pad_token_id);
        for chunk in order.chunks(self.batch_size.max(1)) {
            let (b, s) = (chunk.len(), ids[chunk[0]].len());
            let mut flat_ids = Vec::with_capacity(b * s);
            let mut flat_mask = Vec::with_capacity(b * s);
            for &i in chunk {
                let row = &ids[i];
                flat_ids.extend(row.iter().map(|&t| i64::from(t)));
                flat_ids.extend(std::iter::repeat_n(pad, s - row.len()));
                flat_mask.extend(std::iter::repeat_n(1i64, row.len()));
                flat_mask.extend(std::iter::repeat_n(0i64, s - row.len()));
            }
            let input_ids = ints(flat_ids, [b, s], &self.device);
            let mask = ints(flat_mask, [b, s], &self.device);
            let hidden = self.model.forward(input_ids, mask.clone())?;
            let mut pooled = mean_pool(hidden, mask);
            if normalize {
                pooled = l2_normalize(pooled);
            }
            let d = self.dim();
            for (&i, v) in chunk.iter().zip(to_f32(pooled).chunks_exact(d)) {
                out[i] = v.to_vec();
            }
        }
        Ok(out)
    }
}
