//! Drift: a model's perplexity on a corpus of held-out human text (Elastic Reset's "reward vs
//! drift" axis, `docs/algorithms.md`).
//!
//! `PPL = exp((1/T) Σ_texts Σ_t -log π(x_t | x_<t))`, the exponential of the mean token NLL over
//! **all** scored tokens of all texts (a token-weighted mean, not a mean of per-text
//! perplexities). Conditioning of the first token: each text is prefixed with the model's BOS
//! token when its config has one (`bos_token_id`), and every token is scored; without a BOS
//! the first token is context only and is not scored. Texts longer than the length limit are
//! truncated or skipped as [`ScoringConfig::overflow`] says, with counts in the result.

use rlp_models::{CausalLm, TextTokenizer, pad_token};
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result, non_empty};
use crate::teacher_forced::{ScoringConfig, teacher_forced_ids};

/// Perplexity of a model on a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Perplexity {
    /// `exp(mean_nll)`.
    pub ppl: f64,
    /// Mean negative log-likelihood per scored token, in nats.
    pub mean_nll: f64,
    /// Number of scored tokens.
    pub tokens: usize,
    /// Number of texts that contributed.
    pub texts: usize,
    /// Texts cut at the length limit.
    pub truncated: usize,
    /// Texts left out (too long under [`crate::Overflow::Skip`]).
    pub skipped: usize,
}

/// Perplexity of `model` on `corpus` given as token ids, each text prefixed with `bos` when
/// given (see the module docs). Errors on an empty corpus and when no token at all is scored.
pub fn perplexity_ids(
    model: &CausalLm,
    corpus: &[Vec<u32>],
    bos: Option<u32>,
    pad_id: u32,
    config: &ScoringConfig,
) -> Result<Perplexity> {
    non_empty("corpus", corpus.len())?;
    let prefixes: Vec<Vec<u32>> = vec![bos.into_iter().collect(); corpus.len()];
    let scored = teacher_forced_ids(model, &prefixes, corpus, pad_id, config)?;
    let (mut nll, mut tokens, mut texts) = (0.0f64, 0usize, 0usize);
    for lp in scored.logprobs.iter().flatten() {
        nll -= lp.iter().map(|&x| x as f64).sum::<f64>();
        tokens += lp.len();
        texts += 1;
    }
    if tokens == 0 {
        return Err(EvalError::input(
            "corpus",
            "no token was scored (texts empty, single tokens without a BOS, or all skipped)",
        ));
    }
    let mean_nll = nll / tokens as f64;
    Ok(Perplexity {
        ppl: mean_nll.exp(),
        mean_nll,
        tokens,
        texts,
        truncated: scored.truncated,
        skipped: scored.skipped,
    })
}

/// Perplexity of `model` on the texts of `corpus`, encoded with `tokenizer`; BOS from the
/// model's config (see the module docs).
pub fn perplexity(
    model: &CausalLm,
    tokenizer: &TextTokenizer,
    corpus: &[String],
    config: &ScoringConfig,
) -> Result<Perplexity> {
    non_empty("corpus", corpus.len())?;
    tokenizer.check_model_vocab(model.config.vocab_size)?;
    let ids = corpus
        .iter()
        .map(|t| Ok(tokenizer.encode(t)?))
        .collect::<Result<Vec<_>>>()?;
    perplexity_ids(
        model,
        &ids,
        model.config.bos_token_id,
        pad_token(model, tokenizer),
        config,
    )
}
