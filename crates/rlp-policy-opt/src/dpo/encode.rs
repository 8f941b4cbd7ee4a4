//! Preference pairs as token ids for DPO, and their response-masked sequence log-probs.
//!
//! The prompt and each response are encoded separately (as generation sees them: prompt ids,
//! then sampled ids), and the tokenizer's end-of-sequence token is appended to each response so
//! that ending is part of what is preferred. An empty prompt becomes the tokenizer's
//! `<|endoftext|>` (pad) id, so the first response token has a context. Unusable pairs are
//! skipped and counted in [`SkipCounts`] (as `rlp-reward` does), never silently dropped: empty
//! responses, identical responses (as texts or as ids), and pairs longer than `max_len` tokens
//! (prompt + response + eos).

use burn::tensor::Tensor;
use rlp_core::PreferencePair;
use rlp_core::masked::masked_sum_rows;
use rlp_models::{CausalLm, TextTokenizer};
use rlp_reward::SkipCounts;
use rlp_train::SftBatch;
use rlp_train::nll::target_logprobs;

use crate::error::Result;

/// One usable pair as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPreference {
    /// The prompt ids (at least one).
    pub prompt: Vec<u32>,
    /// The chosen response ids `y_w` (+ eos).
    pub chosen: Vec<u32>,
    /// The rejected response ids `y_l` (+ eos).
    pub rejected: Vec<u32>,
}

/// Encodes every usable pair of `pairs`; the others are counted in the returned [`SkipCounts`]
/// (`truncated` stays 0: nothing is cut).
pub fn encode_preferences(
    tokenizer: &TextTokenizer,
    pairs: &[PreferencePair],
    max_len: usize,
) -> Result<(Vec<EncodedPreference>, SkipCounts)> {
    let mut out = Vec::with_capacity(pairs.len());
    let mut skips = SkipCounts::default();
    let context = tokenizer.pad_id.or(tokenizer.eos_id).unwrap_or(0);
    for p in pairs {
        if !skips.admit(p) {
            continue;
        }
        let mut prompt = tokenizer.encode(&p.prompt)?;
        if prompt.is_empty() {
            prompt.push(context);
        }
        let response = |text: &str| -> Result<Vec<u32>> {
            let mut ids = tokenizer.encode(text)?;
            ids.extend(tokenizer.eos_id);
            Ok(ids)
        };
        let (chosen, rejected) = (response(&p.chosen)?, response(&p.rejected)?);
        if chosen == rejected {
            skips.identical += 1;
            continue;
        }
        if prompt.len() + chosen.len().max(rejected.len()) > max_len {
            skips.too_long += 1;
            continue;
        }
        out.push(EncodedPreference {
            prompt,
            chosen,
            rejected,
        });
    }
    Ok((out, skips))
}

/// The `(prompt, response)` rows of a batch: every chosen response, then every rejected one.
pub(crate) fn rows(pairs: &[&EncodedPreference]) -> Vec<(Vec<u32>, Vec<u32>)> {
    let chosen = pairs.iter().map(|p| (p.prompt.clone(), p.chosen.clone()));
    let rejected = pairs.iter().map(|p| (p.prompt.clone(), p.rejected.clone()));
    chosen.chain(rejected).collect()
}

/// `log π(y | x) = Σ_{t ∈ response} log π(y_t | y_<t, x)` per row of a right-padded batch, `[b]`.
pub fn sequence_logprobs(model: &CausalLm, batch: &SftBatch) -> Tensor<1> {
    masked_sum_rows(target_logprobs(model, batch), batch.loss_mask.clone())
}
