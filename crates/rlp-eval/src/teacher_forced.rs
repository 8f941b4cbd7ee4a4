//! Teacher-forced per-token log-probs of given continuations under a [`CausalLm`]: the
//! building block of sequence KL (prefix = prompt, continuation = response) and of drift
//! (perplexity on held-out text).
//!
//! Sequences are `prefix ++ continuation` as token ids (the two are tokenized separately, so no
//! merge crosses the boundary), right-padded into batches of similar length; with right
//! padding causal attention already keeps real tokens from seeing the padding, so the forward
//! pass needs no mask. `log π(c_k | prefix, c_<k)` is read with
//! [`rlp_core::logprobs::token_logprobs`] at the position before `c_k`.

use burn::tensor::Int;
use rlp_core::logprobs::token_logprobs;
use rlp_core::tensor_io::{ints, to_f32};
use rlp_models::{CausalLm, TextTokenizer, pad_token};
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result, same_len};

/// What to do with a sequence longer than the length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overflow {
    /// Keep the whole prefix and the first `limit - |prefix|` continuation tokens (counted in
    /// [`Scored::truncated`]); a prefix that alone reaches the limit is skipped.
    #[default]
    Truncate,
    /// Leave the item out (its entry is `None`, counted in [`Scored::skipped`]).
    Skip,
}

/// Batching and length settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ScoringConfig {
    /// Sequences per forward pass.
    pub batch_size: usize,
    /// Length limit in tokens, prefix included; `None` (the default) or anything larger means
    /// the model's `max_position_embeddings`.
    pub max_len: Option<usize>,
    /// What to do past the limit.
    pub overflow: Overflow,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            batch_size: 16,
            max_len: None,
            overflow: Overflow::Truncate,
        }
    }
}

/// Per-item log-probs and what the length limit did.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// One entry per input: the log-prob of each scored continuation token, in order, or
    /// `None` when the item was skipped. When the prefix is empty the first continuation token
    /// has no context and is not scored, so the entry has one value fewer than the
    /// continuation.
    pub logprobs: Vec<Option<Vec<f32>>>,
    /// Items whose continuation was cut at the limit.
    pub truncated: usize,
    /// Items left out.
    pub skipped: usize,
}

/// Teacher-forced log-probs of `continuations[i]` after `prefixes[i]` (token ids) under
/// `model`; `pad_id` fills the right padding. Errors on mismatched lengths, `batch_size = 0`
/// and ids outside the model's vocabulary (naming the argument).
pub fn teacher_forced_ids(
    model: &CausalLm,
    prefixes: &[Vec<u32>],
    continuations: &[Vec<u32>],
    pad_id: u32,
    config: &ScoringConfig,
) -> Result<Scored> {
    same_len(
        "prefixes",
        prefixes.len(),
        "continuations",
        continuations.len(),
    )?;
    if config.batch_size == 0 {
        return Err(EvalError::input("batch_size", "must be at least 1"));
    }
    let vocab = model.config.vocab_size;
    for (name, rows) in [("prefixes", prefixes), ("continuations", continuations)] {
        if let Some((i, t)) = rows
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.iter().find(|&&t| t as usize >= vocab).map(|t| (i, t)))
        {
            return Err(EvalError::input(
                name,
                format!("item {i}: token id {t} ≥ vocab_size {vocab}"),
            ));
        }
    }
    let limit = config
        .max_len
        .unwrap_or(usize::MAX)
        .min(model.config.max_position_embeddings);

    // The (possibly truncated) sequence and the number of prefix tokens of each kept item.
    let mut out = Scored {
        logprobs: vec![None; prefixes.len()],
        truncated: 0,
        skipped: 0,
    };
    let mut items: Vec<(usize, Vec<u32>, usize)> = Vec::new();
    for (i, (p, c)) in prefixes.iter().zip(continuations).enumerate() {
        let mut keep = c.len();
        if p.len() + c.len() > limit {
            if config.overflow == Overflow::Skip || p.len() >= limit {
                out.skipped += 1;
                continue;
            }
            keep = limit - p.len();
            out.truncated += 1;
        }
        let seq: Vec<u32> = p.iter().chain(&c[..keep]).copied().collect();
        items.push((i, seq, p.len()));
    }
    // Longest first, so each batch holds similar lengths.
    items.sort_by_key(|(_, s, _)| std::cmp::Reverse(s.len()));
    let device = model.device();
    for batch in items.chunks(config.batch_size) {
        let t = batch[0].1.len().saturating_sub(1);
        if t == 0 {
            for (i, _, _) in batch {
                out.logprobs[*i] = Some(Vec::new());
            }
            continue;
        }
        let b = batch.len();
        let mut inputs = vec![pad_id as i64; b * t];
        let mut targets = vec![pad_id as i64; b * t];
        for (row, (_, seq, _)) in batch.iter().enumerate() {
            for j in 0..seq.len().saturating_sub(1) {
                inputs[row * t + j] = seq[j] as i64;
                targets[row * t + j] = seq[j + 1] as i64;
            }
        }
        let logits = model
            .forward(ints::<2>(inputs, [b, t], &device), None)
            .logits;
        let targets: burn::tensor::Tensor<2, Int> = ints(targets, [b, t], &device);
        let lp = to_f32(token_logprobs(logits, targets));
        for (row, (i, seq, p)) in batch.iter().enumerate() {
            // Target position j scores token j+1; the first scored token is the first
            // continuation token (index p), or index 1 when there is no prefix.
            let first = (*p).max(1) - 1;
            let last = seq.len().saturating_sub(1);
            out.logprobs[*i] = Some(lp[row * t + first.min(last)..row * t + last].to_vec());
        }
    }
    Ok(out)
}

/// [`teacher_forced_ids`] on texts: each prefix and text is encoded separately with
/// `tokenizer` (no special tokens added); an empty prefix becomes the model's BOS token when
/// its config has one (`bos_token_id`), otherwise the text's first token is context only.
/// Padding uses the tokenizer's pad id, else the model's, else 0.
pub fn teacher_forced_logprobs(
    model: &CausalLm,
    tokenizer: &TextTokenizer,
    prefixes: &[String],
    texts: &[String],
    config: &ScoringConfig,
) -> Result<Scored> {
    same_len("prefixes", prefixes.len(), "texts", texts.len())?;
    tokenizer.check_model_vocab(model.config.vocab_size)?;
    let bos = model.config.bos_token_id;
    let p_ids = prefixes
        .iter()
        .map(|p| {
            let ids = tokenizer.encode(p)?;
            Ok(if ids.is_empty() {
                bos.into_iter().collect()
            } else {
                ids
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let t_ids = texts
        .iter()
        .map(|t| Ok(tokenizer.encode(t)?))
        .collect::<Result<Vec<_>>>()?;
    teacher_forced_ids(model, &p_ids, &t_ids, pad_token(model, tokenizer), config)
}
