//! One call that measures a policy: sample responses, score them with the gold (and a proxy),
//! sequence KL to a reference model, drift on a corpus and diversity, in a serialisable
//! [`EvalSummary`].

use rlp_core::{Completion, RewardFn, SeededRng};
use rlp_models::{
    CausalLm, GenerationConfig, SamplingParams, TextTokenizer, generate_text, pad_token,
};
use serde::{Deserialize, Serialize};

use crate::diversity::{distinct_n, mean_length, self_bleu};
use crate::drift::perplexity;
use crate::error::{EvalError, Result, non_empty, score_checked};
use crate::kl::sequence_kl;
use crate::stats::MeanSe;
use crate::teacher_forced::{ScoringConfig, teacher_forced_ids};

/// How [`evaluate_policy`] samples and batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EvalConfig {
    /// Responses sampled per prompt.
    pub samples_per_prompt: usize,
    /// Rows per generation batch and per scoring forward pass.
    pub batch_size: usize,
    /// At most this many new tokens per response.
    pub max_new_tokens: usize,
    /// Sampling temperature. The default 1 samples from the policy itself, which the KL
    /// estimates need to be unbiased for `KL(π ‖ π_ref)` (see [`crate::kl`]); RLP's
    /// evaluation samples at 0.7 for win-rates.
    pub temperature: f32,
    /// Seed of the sampling stream, forked from the caller's generator (see
    /// [`evaluate_policy`]).
    pub seed: u64,
    /// Self-BLEU is `O(N²)`: it is computed on at most this many responses, taken at an even
    /// stride over all of them.
    pub self_bleu_max_texts: usize,
    /// Length limit for the drift corpus (`None`: the model's context window; longer texts
    /// are truncated).
    pub drift_max_len: Option<usize>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            samples_per_prompt: 1,
            batch_size: 16,
            max_new_tokens: 48,
            temperature: 1.0,
            seed: 0,
            self_bleu_max_texts: 200,
            drift_max_len: None,
        }
    }
}

impl EvalConfig {
    /// Errors on a zero count or a negative or non-finite temperature, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.samples_per_prompt == 0 {
            return Err(EvalError::input("samples_per_prompt", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(EvalError::input("batch_size", "must be at least 1"));
        }
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(EvalError::input(
                "temperature",
                format!("must be finite and ≥ 0, got {}", self.temperature),
            ));
        }
        Ok(())
    }
}

/// Everything [`evaluate_policy`] measures; serialisable to JSON for run directories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Number of sampled responses (prompts × samples per prompt).
    pub n: usize,
    /// Number of prompts.
    pub prompts: usize,
    /// Gold score per response, mean ± SE.
    pub gold: MeanSe,
    /// Proxy score per response, when a proxy was given.
    pub proxy: Option<MeanSe>,
    /// k1 sequence KL(π ‖ π_ref) in nats, mean ± SE over responses.
    pub kl_k1: MeanSe,
    /// k3 sequence KL(π ‖ π_ref) in nats, mean ± SE over responses.
    pub kl_k3: MeanSe,
    /// The policy's perplexity on the drift corpus (`None` when none was given).
    pub drift_ppl: Option<f64>,
    /// distinct-1 over all responses.
    pub distinct_1: f64,
    /// distinct-2 over all responses.
    pub distinct_2: f64,
    /// Self-BLEU over (a stride sample of) the responses; `None` with fewer than two.
    pub self_bleu: Option<f64>,
    /// Mean response length in whitespace tokens.
    pub mean_len: f64,
    /// Fraction of responses that ended on a stop token.
    pub finished_frac: f64,
}

/// An [`EvalSummary`] with the samples and per-response scores behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRun {
    /// The summary.
    pub summary: EvalSummary,
    /// Every sampled response, prompt-major (all samples of prompt 0 first).
    pub completions: Vec<Completion>,
    /// Gold score of each completion.
    pub gold: Vec<f64>,
    /// Proxy score of each completion, when a proxy was given.
    pub proxy: Option<Vec<f64>>,
}

/// Measures `policy` (see [`evaluate_policy_detailed`], which also returns the samples).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_policy(
    policy: &CausalLm,
    reference: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    gold: &dyn RewardFn,
    proxy: Option<&dyn RewardFn>,
    drift_corpus: &[String],
    config: &EvalConfig,
    rng: &SeededRng,
) -> Result<EvalSummary> {
    evaluate_policy_detailed(
        policy,
        reference,
        tokenizer,
        prompts,
        gold,
        proxy,
        drift_corpus,
        config,
        rng,
    )
    .map(|r| r.summary)
}

/// Samples `config.samples_per_prompt` responses per prompt from `policy` (prompts are used
/// as given: apply any chat template first) and measures:
/// - gold (and proxy) score of each response, mean ± SE;
/// - sequence KL(π ‖ π_ref) to `reference`, k1 and k3, from teacher-forced log-probs of the
///   sampled token ids (stop token included) under both models;
/// - drift: the policy's perplexity on `drift_corpus` (skipped when it is empty);
/// - distinct-1/2, self-BLEU and mean length of the decoded responses.
///
/// Sampling draws from `rng.fork("rlp-eval/sample/{config.seed}")`, so the same caller seed
/// and config give the same samples however much `rng` was used before. Errors on an empty
/// `prompts`, an invalid config, a tokenizer that does not fit either model, and reward
/// functions that fail or return the wrong number of scores.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_policy_detailed(
    policy: &CausalLm,
    reference: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    gold: &dyn RewardFn,
    proxy: Option<&dyn RewardFn>,
    drift_corpus: &[String],
    config: &EvalConfig,
    rng: &SeededRng,
) -> Result<EvalRun> {
    non_empty("prompts", prompts.len())?;
    config.validate()?;
    tokenizer.check_model_vocab(policy.config.vocab_size)?;
    tokenizer.check_model_vocab(reference.config.vocab_size)?;
    let mut sampler = rng.fork(&format!("rlp-eval/sample/{}", config.seed));
    let expanded: Vec<String> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), config.samples_per_prompt))
        .collect();
    let mut gen_cfg = GenerationConfig::default();
    gen_cfg.max_new_tokens = config.max_new_tokens;
    gen_cfg.sampling = SamplingParams::default();
    gen_cfg.sampling.temperature = config.temperature;
    let mut completions = Vec::with_capacity(expanded.len());
    for chunk in expanded.chunks(config.batch_size) {
        completions.extend(generate_text(
            policy,
            tokenizer,
            chunk,
            &gen_cfg,
            &mut sampler,
        )?);
    }
    let texts: Vec<String> = completions.iter().map(|c| c.text.clone()).collect();
    let gold_scores = score_checked(gold, &expanded, &texts)?;
    let proxy_scores = proxy
        .map(|p| score_checked(p, &expanded, &texts))
        .transpose()?;

    // KL from teacher-forced log-probs of the sampled ids under both models.
    let prompt_ids = expanded
        .iter()
        .map(|p| Ok(tokenizer.encode(p)?))
        .collect::<Result<Vec<_>>>()?;
    let response_ids: Vec<Vec<u32>> = completions.iter().map(|c| c.tokens.clone()).collect();
    let scoring = ScoringConfig {
        batch_size: config.batch_size,
        ..ScoringConfig::default()
    };
    let logprobs = |m: &CausalLm| -> Result<Vec<Vec<f32>>> {
        let s = teacher_forced_ids(
            m,
            &prompt_ids,
            &response_ids,
            pad_token(m, tokenizer),
            &scoring,
        )?;
        s.logprobs
            .into_iter()
            .enumerate()
            .map(|(i, lp)| {
                lp.ok_or_else(|| {
                    EvalError::input("prompts", format!("item {i} exceeds the reference context"))
                })
            })
            .collect()
    };
    let kl = sequence_kl(&logprobs(policy)?, &logprobs(reference)?)?;

    let drift_ppl = if drift_corpus.is_empty() {
        None
    } else {
        let cfg = ScoringConfig {
            max_len: config.drift_max_len,
            ..scoring.clone()
        };
        Some(perplexity(policy, tokenizer, drift_corpus, &cfg)?.ppl)
    };

    let m = config.self_bleu_max_texts.min(texts.len());
    let bleu_set: Vec<String> = (0..m).map(|i| texts[i * texts.len() / m].clone()).collect();
    let summary = EvalSummary {
        n: texts.len(),
        prompts: prompts.len(),
        gold: MeanSe::of(&gold_scores),
        proxy: proxy_scores.as_deref().map(MeanSe::of),
        kl_k1: kl.k1,
        kl_k3: kl.k3,
        drift_ppl,
        distinct_1: distinct_n(&texts, 1)?,
        distinct_2: distinct_n(&texts, 2)?,
        self_bleu: if bleu_set.len() >= 2 {
            Some(self_bleu(&bleu_set)?)
        } else {
            None
        },
        mean_len: mean_length(&texts)?,
        finished_frac: completions.iter().filter(|c| c.finished).count() as f64
            / completions.len() as f64,
    };
    Ok(EvalRun {
        summary,
        completions,
        gold: gold_scores,
        proxy: proxy_scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_fill_missing_fields_and_validate() {
        let c: EvalConfig =
            serde_json::from_str(r#"{"samples_per_prompt": 4, "temperature": 0.7}"#).unwrap();
        assert_eq!(
            c,
            EvalConfig {
                samples_per_prompt: 4,
                temperature: 0.7,
                ..EvalConfig::default()
            }
        );
        assert!(c.validate().is_ok());
        let bad = EvalConfig {
            temperature: -1.0,
            ..EvalConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("`temperature`")
        );
        let bad = EvalConfig {
            batch_size: 0,
            ..EvalConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("`batch_size`")
        );
    }
}
