//! Prompt encoding shared by the trainers that sample from a policy (PPO, f-DPG, Quark).

use rlp_core::SeededRng;
use rlp_models::TextTokenizer;

use crate::error::{PolicyError, Result};

/// Encodes `prompts` with `tokenizer`, refusing a prompt that encodes to no tokens (a policy
/// cannot be conditioned on nothing); the error names the prompt's index and text.
pub fn encode_prompts(tokenizer: &TextTokenizer, prompts: &[String]) -> Result<Vec<Vec<u32>>> {
    let ids = prompts
        .iter()
        .map(|p| tokenizer.encode(p))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if let Some(i) = ids.iter().position(Vec::is_empty) {
        return Err(PolicyError::invalid(
            "prompts",
            format!("prompt {i} ({:?}) encodes to no tokens", prompts[i]),
        ));
    }
    Ok(ids)
}

/// The `n` prompts of step `step` (1-based), drawn with replacement from `prompts` by a stream
/// of `rng` forked by the step, so that a resumed run draws what the uninterrupted one would
/// have. `prompts` must not be empty.
pub fn draw_prompts(rng: &SeededRng, step: usize, prompts: &[String], n: usize) -> Vec<String> {
    let mut draw = rng.fork(&format!("prompts-{step}"));
    (0..n)
        .map(|_| prompts[draw.below(prompts.len())].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_prompts_and_names_an_empty_one() {
        let corpus = ["the cat sat", "a dog ran"];
        let tokenizer = TextTokenizer::train_bpe(corpus.iter(), 280).unwrap();
        let prompts = vec!["the cat".to_string(), "a dog".to_string()];
        let ids = encode_prompts(&tokenizer, &prompts).unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], tokenizer.encode("the cat").unwrap());
        assert!(ids.iter().all(|x| !x.is_empty()));

        let bad = vec!["the cat".to_string(), String::new()];
        let err = encode_prompts(&tokenizer, &bad).unwrap_err().to_string();
        assert!(err.contains("prompts") && err.contains("prompt 1"), "{err}");
    }
}
