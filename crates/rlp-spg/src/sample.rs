//! Policy samples for RLP-SPG: n responses per prompt from the first-round PPO policy
//! (Lang et al., NAACL 2024, §4.1: n = 10 at temperature 1.0).
//!
//! Each prompt is one generation batch of its n copies (no padding, so the batch's maths is
//! that of the prompt alone), and draws from its own random stream, forked from the seed by the
//! prompt's index: a prompt's responses depend only on `(seed, index, prompt)`, not on the other
//! prompts, so runs can be split, resumed or reordered without changing a sample.

use rlp_core::SeededRng;
use rlp_models::{CausalLm, GenerationConfig, TextTokenizer, generate_text};

use crate::error::{Result, SpgError};

/// The random stream of prompt `i`'s samples.
pub fn sample_rng(seed: u64, i: usize) -> SeededRng {
    SeededRng::new(seed).fork(&format!("spg-sample/{i}"))
}

/// `n` responses (decoded continuations, stop token removed) to each of `prompts` from
/// `policy`, sampled with `generation`'s settings; `out[i][k]` is the k-th response to
/// `prompts[i]`. Deterministic for a seed (module docs). `n` must be at least 1.
pub fn sample_responses(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    n: usize,
    generation: &GenerationConfig,
    seed: u64,
) -> Result<Vec<Vec<String>>> {
    sample_responses_with_progress(policy, tokenizer, prompts, n, generation, seed, |_, _| {})
}

/// [`sample_responses`], calling `progress(done, total)` after each prompt.
pub fn sample_responses_with_progress(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    n: usize,
    generation: &GenerationConfig,
    seed: u64,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Vec<String>>> {
    if n == 0 {
        return Err(SpgError::invalid("n", "0 responses per prompt"));
    }
    let mut out = Vec::with_capacity(prompts.len());
    for (i, prompt) in prompts.iter().enumerate() {
        let copies = vec![prompt.clone(); n];
        let mut rng = sample_rng(seed, i);
        let completions = generate_text(policy, tokenizer, &copies, generation, &mut rng)?;
        out.push(completions.into_iter().map(|c| c.text).collect());
        progress(i + 1, prompts.len());
    }
    Ok(out)
}
