//! # rlp-models
//!
//! The models of the `rlp` workspace, on any burn backend:
//! - [`CausalLm`]: a Llama-architecture decoder (RMSNorm, rotary embeddings, SwiGLU, grouped-
//!   query attention, tied or untied embeddings), sized from tiny test models up to
//!   SmolLM2-135M, returning logits and final hidden states over padded batches;
//! - [`generate()`]: batched generation with left padding and a KV cache, temperature, top-k,
//!   top-p, stop tokens and per-token log-probs, deterministic under a seed;
//! - [`ValueHead`] and [`ScoreHead`] on hidden states;
//! - [`TextTokenizer`]: `tokenizer.json` loading, byte-level BPE training, ChatML;
//! - [`bert`]: a BERT encoder with mean pooling (all-MiniLM-L6-v2 sentence embeddings);
//! - [`checkpoint`]: safetensors with Hugging Face names and `config.json`;
//! - [`Pretrained`]: a model with its tokenizer, saved and loaded as one directory;
//! - [`soup`]: weight soups `Σ w_i θ_i` and EMA updates of whole models;
//! - [`grow_depth`]: depth up-scaling that starts as an exact copy of a trained model;
//! - [`vocab`]: vocabulary growth (new token rows drawn from the embedding's moments, tokenizer
//!   special tokens) and output suppression, for control tokens such as Quark's reward tokens;
//! - [`lora`]: LoRA adapters on the causal LM, in Hugging Face PEFT's format;
//! - [`train`]: the response-masked next-token loss and an AdamW trainer.
#![warn(missing_docs)]

pub mod attention;
pub mod bert;
pub mod cache;
pub mod checkpoint;
pub mod config;
pub mod decoder_layer;
pub mod dense;
pub mod error;
pub mod fetch;
pub mod generate;
pub mod gguf;
pub mod grad_sync;
pub mod grow;
pub mod heads;
pub mod init;
pub mod lora;
pub mod mask;
pub mod mlp;
pub mod model;
pub mod optim;
pub mod pretrained;
pub mod rope;
pub mod sampling;
pub mod soup;
pub mod tokenizer;
pub mod train;
pub mod vocab;

pub use cache::KvCache;
pub use config::LlamaConfig;
pub use error::{ModelError, Result};
pub use generate::{
    Generation, GenerationConfig, generate, generate_text, generate_with_tokenizer, pad_token,
    with_default_stops,
};
pub use grow::grow_depth;
pub use heads::{ScoreHead, ValueHead, last_hidden};
pub use model::{CausalLm, LmOutput};
pub use optim::{AdamW, OptimConfig};
pub use pretrained::Pretrained;
pub use sampling::SamplingParams;
pub use soup::{ema_update, try_ema_update, weighted_average};
pub use tokenizer::{ChatMessage, TextTokenizer};
#[allow(deprecated)]
pub use train::Trainer;
pub use train::{NllTrainer, SftBatch, StepStats, collate_sft, response_nll, response_targets};
pub use vocab::{add_special_tokens, grow_vocab, grow_vocab_with_tokens, suppress_outputs};
