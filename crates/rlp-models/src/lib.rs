#![doc = include_str!("../README.md")]
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
pub mod grow;
pub mod heads;
pub mod init;
pub mod lora;
pub mod mask;
pub mod mlp;
pub mod model;
pub mod pretrained;
pub mod rope;
pub mod sampling;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod tokenizer;
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
pub use pretrained::Pretrained;
pub use sampling::SamplingParams;
pub use tokenizer::{ChatMessage, TextTokenizer};
#[allow(deprecated)]
pub use vocab::{add_special_tokens, suppress_outputs};
