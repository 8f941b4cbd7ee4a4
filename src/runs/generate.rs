//! `rlp generate`: load a checkpoint directory and continue prompts.

use std::path::Path;

use anyhow::{Context, Result};
use rlp_core::{BackendSpec, Completion, SeededRng};
use rlp_models::tokenizer::ChatMessage;
use rlp_models::{GenerationConfig, TextTokenizer, checkpoint, generate_text};

/// Loads `dir` (config, weights, tokenizer) on `backend` and generates one completion per
/// prompt. With `chat`, each prompt is wrapped as a ChatML user turn.
pub fn run(
    dir: &Path,
    backend: BackendSpec,
    prompts: &[String],
    chat: bool,
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
        .map(|p| {
            if chat {
                TextTokenizer::render_chatml(&[ChatMessage::new("user", p.clone())], true)
            } else {
                p.clone()
            }
        })
        .collect();
    let mut rng = SeededRng::new(seed).fork("sampling");
    Ok(generate_text(&model, &tk, &texts, cfg, &mut rng)?)
}
