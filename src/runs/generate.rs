//! `rlp generate`: load a checkpoint directory and continue prompts.

use std::path::Path;

use anyhow::{Context, Result};
use rlp_core::{BackendSpec, Completion, SeededRng};
use rlp_models::tokenizer::ChatMessage;
use rlp_models::{GenerationConfig, TextTokenizer, checkpoint, generate_text};

/// How prompts are presented to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptStyle {
    /// The prompt text as is.
    Raw,
    /// Each prompt is a user turn in the model's chat template; `system` replaces the
    /// template's default system message.
    Chat {
        /// An explicit system message.
        system: Option<String>,
    },
}

/// How many new tokens to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewTokens {
    /// Exactly this bound: a prompt that leaves too little of the context window is an error.
    AtMost(usize),
    /// This bound, lowered to what the model's context window leaves after the longest prompt
    /// (the default of `rlp generate`, whose models range from 64 to 8,192 positions).
    FitContext(usize),
}

/// Loads `dir` (config, weights, tokenizer) on `backend` and generates one completion per
/// prompt, presented as `style` says; `new_tokens` replaces `cfg.max_new_tokens`.
pub fn run(
    dir: &Path,
    backend: BackendSpec,
    prompts: &[String],
    style: &PromptStyle,
    cfg: &GenerationConfig,
    new_tokens: NewTokens,
    seed: u64,
) -> Result<Vec<Completion>> {
    let device = backend.device()?;
    let model = checkpoint::load(dir, &device)
        .with_context(|| format!("loading model from {}", dir.display()))?;
    let tk = TextTokenizer::load(dir.join("tokenizer.json"))?;
    tk.check_model_vocab(model.config.vocab_size)
        .with_context(|| {
            format!(
                "{}: tokenizer.json does not match config.json",
                dir.display()
            )
        })?;
    let texts: Vec<String> = prompts
        .iter()
        .map(|p| match style {
            PromptStyle::Raw => p.clone(),
            PromptStyle::Chat { system } => {
                let mut msgs: Vec<ChatMessage> = system
                    .iter()
                    .map(|s| ChatMessage::new("system", s.clone()))
                    .collect();
                msgs.push(ChatMessage::new("user", p.clone()));
                tk.render_chat(&msgs, true)
            }
        })
        .collect();
    let mut cfg = cfg.clone();
    cfg.max_new_tokens = match new_tokens {
        NewTokens::AtMost(n) => n,
        NewTokens::FitContext(n) => {
            let longest = texts
                .iter()
                .map(|t| tk.encode(t).map(|ids| ids.len()))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .max()
                .unwrap_or(0);
            // A prompt that fills the window keeps the bound, so the error names it.
            match model.config.max_position_embeddings.saturating_sub(longest) {
                0 => n,
                room => n.min(room),
            }
        }
    };
    let mut rng = SeededRng::new(seed).fork("sampling");
    Ok(generate_text(&model, &tk, &texts, &cfg, &mut rng)?)
}
