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

/// Loads `dir` (config, weights, tokenizer) on `backend` and generates one completion per
/// prompt, presented as `style` says.
pub fn run(
    dir: &Path,
    backend: BackendSpec,
    prompts: &[String],
    style: &PromptStyle,
    cfg: &GenerationConfig,
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
    let mut rng = SeededRng::new(seed).fork("sampling");
    Ok(generate_text(&model, &tk, &texts, cfg, &mut rng)?)
}
