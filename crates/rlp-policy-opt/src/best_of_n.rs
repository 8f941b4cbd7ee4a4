//! Best-of-n sampling (rejection sampling against a reward; `docs/algorithms.md`, Gao et
//! al. and Coste et al.): draw `n` responses per prompt from the policy and keep the one the
//! reward scores highest, `y* = argmax_{i ≤ n} R(x, y_i)` (ties go to the first sample). Its KL
//! from the policy is at most `log n − (n−1)/n`.

use burn::module::Module;
use rlp_core::{RewardFn, SeededRng};
use rlp_models::{CausalLm, GenerationConfig, TextTokenizer, generate_text};

use crate::error::{PolicyError, Result};

/// The `n` samples of one prompt and the best of them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BestOfN {
    /// The highest-scoring sample (the first of them on a tie).
    pub best: String,
    /// Its score.
    pub best_score: f32,
    /// Its index in `samples`.
    pub best_index: usize,
    /// All `n` samples, in the order drawn.
    pub samples: Vec<String>,
    /// The reward of each sample.
    pub scores: Vec<f32>,
}

/// Best-of-`n` for each prompt: all `prompts.len() × n` samples are drawn in one batched
/// generation (rows prompt-major: the `n` samples of prompt 0, then of prompt 1, …) on the
/// policy's plain device, then scored in one `reward` call. With `n = 1` the samples are exactly
/// what [`generate_text`] draws for the same prompts and `rng`.
///
/// Errors: `n = 0`, a generation error (prompt too long, tokenizer/model mismatch), a failing
/// reward, a reward returning the wrong number of scores or a NaN score.
pub fn best_of_n(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    n: usize,
    config: &GenerationConfig,
    reward: &dyn RewardFn,
    rng: &mut SeededRng,
) -> Result<Vec<BestOfN>> {
    if n == 0 {
        return Err(PolicyError::invalid("n", "must be at least 1"));
    }
    let rows: Vec<String> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), n))
        .collect();
    let model = policy.valid();
    let texts: Vec<String> = generate_text(&model, tokenizer, &rows, config, rng)?
        .into_iter()
        .map(|c| c.text)
        .collect();
    let reward_error = |message: String| PolicyError::RewardFn {
        name: reward.name(),
        message,
    };
    let scores = reward
        .score(&rows, &texts)
        .map_err(|e| reward_error(e.to_string()))?;
    if scores.len() != rows.len() {
        return Err(reward_error(format!(
            "{} scores for {} responses",
            scores.len(),
            rows.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(reward_error(format!(
            "NaN score for sample {} of prompt {}",
            i % n,
            i / n
        )));
    }
    Ok(texts
        .chunks(n)
        .zip(scores.chunks(n))
        .map(|(samples, scores)| {
            let best_index = (1..n).fold(0, |b, i| if scores[i] > scores[b] { i } else { b });
            BestOfN {
                best: samples[best_index].clone(),
                best_score: scores[best_index],
                best_index,
                samples: samples.to_vec(),
                scores: scores.to_vec(),
            }
        })
        .collect())
}
