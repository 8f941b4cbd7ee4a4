//! `rlp generate`: sample from a checkpoint directory.

use std::path::PathBuf;

use anyhow::Result;
use rlp::models::{GenerationConfig, SamplingParams};
use rlp::runs::generate::{self, NewTokens, PromptStyle};

use super::BackendFlag;

#[derive(clap::Args)]
pub(crate) struct GenerateArgs {
    /// Checkpoint directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// Prompt text (repeatable).
    #[arg(long, required_unless_present = "chat")]
    pub(crate) prompt: Vec<String>,
    /// A user message, wrapped in the model's ChatML template (repeatable).
    #[arg(long, conflicts_with = "prompt")]
    pub(crate) chat: Vec<String>,
    /// With --chat: the system message (default: the chat template's own, if any).
    #[arg(long, requires = "chat")]
    pub(crate) system: Option<String>,
    /// New tokens at most (default: 64, or what the model's context window leaves after the
    /// longest prompt when that is less).
    #[arg(long)]
    pub(crate) max_new_tokens: Option<usize>,
    /// Temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) temperature: f32,
    /// Top-k truncation.
    #[arg(long)]
    pub(crate) top_k: Option<usize>,
    /// Top-p (nucleus) truncation.
    #[arg(long)]
    pub(crate) top_p: Option<f32>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
}

/// Runs `rlp generate`.
pub(crate) fn run(a: GenerateArgs) -> Result<()> {
    let chat = !a.chat.is_empty();
    let style = if chat {
        PromptStyle::Chat { system: a.system }
    } else {
        PromptStyle::Raw
    };
    let prompts = if chat { a.chat } else { a.prompt };
    let new_tokens = match a.max_new_tokens {
        Some(n) => NewTokens::AtMost(n),
        None => NewTokens::FitContext(64),
    };
    let mut cfg = GenerationConfig::default();
    cfg.sampling = SamplingParams::default();
    cfg.sampling.temperature = a.temperature;
    cfg.sampling.top_k = a.top_k;
    cfg.sampling.top_p = a.top_p;
    for c in generate::run(
        &a.model,
        a.backend.spec(),
        &prompts,
        &style,
        &cfg,
        new_tokens,
        a.seed,
    )? {
        println!("{}{}", if chat { "" } else { &c.prompt }, c.text);
    }
    Ok(())
}
