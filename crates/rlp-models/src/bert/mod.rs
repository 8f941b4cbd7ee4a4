//! A BERT-style bidirectional encoder with sentence-transformers pooling, loading Hugging Face
//! checkpoints such as `sentence-transformers/all-MiniLM-L6-v2`.
//!
//! - [`BertConfig`]: `config.json` with HF field names and validation;
//! - [`BertModel`]: word + position + segment embeddings, post-LN encoder layers with biased
//!   self-attention and an exact-GELU feed-forward block, returning `last_hidden_state`;
//! - [`mean_pool`] and [`l2_normalize`]: sentence-transformers' `Pooling(mean)` and `Normalize`;
//! - [`load_bert`]: a checkpoint directory (`config.json` + `model.safetensors`, names with or
//!   without the `bert.` prefix) onto a device;
//! - [`SentenceEncoder`]: tokenizer + model, `embed(&[&str])` → unit-length embeddings.
//!
//! Parity with transformers is checked by `tests/minilm.rs` against the fixture that
//! `scripts/reference/minilm_embeddings.py` writes.

pub mod config;
pub mod embeddings;
pub mod encoder;
pub mod layer;
pub mod load;
pub mod model;
pub mod pooling;

pub use config::BertConfig;
pub use embeddings::BertEmbeddings;
pub use encoder::SentenceEncoder;
pub use layer::{BertAttention, BertLayer};
pub use load::{from_safetensors, load_bert};
pub use model::BertModel;
pub use pooling::{l2_normalize, mean_pool};
