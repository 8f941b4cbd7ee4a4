//! Turning `(prompt, response)` texts into reward-model inputs: the token ids of
//! `prompt + response` followed by the tokenizer's end-of-sequence token (so the score is read at
//! the same kind of token for every text), right-padded into a [`ScoreBatch`]. Pairs no reward
//! model can learn from are skipped and counted, never silently dropped.

use burn::tensor::{Device, Int, Tensor};
use rlp_core::PreferencePair;
use rlp_core::tensor_io::ints;
use rlp_models::TextTokenizer;

use crate::error::Result;

/// What to do with a text longer than the context (`max_len` tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overlong {
    /// Skip the pair (counted in [`SkipCounts::too_long`]).
    #[default]
    Skip,
    /// Keep the last `max_len` tokens (the end of a dialogue, where chosen and rejected differ;
    /// counted in [`SkipCounts::truncated`]).
    KeepEnd,
}

/// How many pairs were left out, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkipCounts {
    /// Chosen and rejected are the same text.
    pub identical: usize,
    /// Chosen or rejected is empty (or only whitespace).
    pub empty: usize,
    /// Longer than the context under [`Overlong::Skip`].
    pub too_long: usize,
    /// Kept, but cut to the last `max_len` tokens under [`Overlong::KeepEnd`].
    pub truncated: usize,
}

impl SkipCounts {
    /// Pairs left out (truncated ones are kept).
    pub fn skipped(&self) -> usize {
        self.identical + self.empty + self.too_long
    }

    /// Whether `pair` has two distinct, non-empty responses; if not, counts why (`empty`
    /// before `identical`) and returns false. Every trainer on preference pairs screens with it.
    pub fn admit(&mut self, pair: &PreferencePair) -> bool {
        if pair.chosen.trim().is_empty() || pair.rejected.trim().is_empty() {
            self.empty += 1;
            return false;
        }
        if pair.chosen == pair.rejected {
            self.identical += 1;
            return false;
        }
        true
    }
}

impl std::fmt::Display for SkipCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} identical, {} empty, {} too long skipped; {} truncated",
            self.identical, self.empty, self.too_long, self.truncated
        )
    }
}

/// One usable pair as token ids.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedPair {
    /// `prompt + chosen` (+ eos).
    pub chosen: Vec<u32>,
    /// `prompt + rejected` (+ eos).
    pub rejected: Vec<u32>,
    /// The pair's margin (0 when it has none).
    pub margin: f32,
}

/// The ids of `prompt + response` (+ eos), or `None` when too long under [`Overlong::Skip`]. The
/// flag says whether it was truncated. `max_len` must be at least 1.
pub fn encode_text(
    tokenizer: &TextTokenizer,
    prompt: &str,
    response: &str,
    max_len: usize,
    overlong: Overlong,
) -> Result<Option<(Vec<u32>, bool)>> {
    let mut ids = tokenizer.encode(&format!("{prompt}{response}"))?;
    ids.extend(tokenizer.eos_id);
    if ids.is_empty() {
        // An empty text without an eos token: score the pad id alone rather than nothing.
        ids.push(tokenizer.pad_id.unwrap_or(0));
    }
    if ids.len() <= max_len {
        return Ok(Some((ids, false)));
    }
    Ok(match overlong {
        Overlong::Skip => None,
        Overlong::KeepEnd => Some((ids[ids.len() - max_len..].to_vec(), true)),
    })
}

/// The ids of every `prompts[i] + responses[i]` (+ eos) for scoring: texts longer than
/// `max_len` keep their last `max_len` tokens, since a reward must score every text. Unequal
/// lengths are an error.
pub fn encode_for_scoring(
    tokenizer: &TextTokenizer,
    prompts: &[String],
    responses: &[String],
    max_len: usize,
) -> Result<Vec<Vec<u32>>> {
    if prompts.len() != responses.len() {
        return Err(crate::error::RewardError::invalid(
            "responses",
            format!(
                "{} prompts but {} responses",
                prompts.len(),
                responses.len()
            ),
        ));
    }
    let mut ids = Vec::with_capacity(prompts.len());
    for (p, r) in prompts.iter().zip(responses) {
        let (seq, _) = encode_text(tokenizer, p, r, max_len.max(1), Overlong::KeepEnd)?
            .expect("KeepEnd always keeps the text");
        ids.push(seq);
    }
    Ok(ids)
}

/// Encodes every usable pair; the rest are counted in the returned [`SkipCounts`].
pub fn encode_pairs(
    tokenizer: &TextTokenizer,
    pairs: &[PreferencePair],
    max_len: usize,
    overlong: Overlong,
) -> Result<(Vec<EncodedPair>, SkipCounts)> {
    let mut out = Vec::with_capacity(pairs.len());
    let mut skips = SkipCounts::default();
    for p in pairs {
        if !skips.admit(p) {
            continue;
        }
        let c = encode_text(tokenizer, &p.prompt, &p.chosen, max_len, overlong)?;
        let r = encode_text(tokenizer, &p.prompt, &p.rejected, max_len, overlong)?;
        let (Some((chosen, tc)), Some((rejected, tr))) = (c, r) else {
            skips.too_long += 1;
            continue;
        };
        if chosen == rejected {
            // Different texts that the truncation (or the tokenizer) made equal.
            skips.identical += 1;
            continue;
        }
        skips.truncated += usize::from(tc || tr);
        out.push(EncodedPair {
            chosen,
            rejected,
            margin: p.margin.unwrap_or(0.0),
        });
    }
    Ok((out, skips))
}

/// Right-padded token ids and the index of each row's last real token.
#[derive(Debug, Clone)]
pub struct ScoreBatch {
    /// `[b, T]` ids, padded on the right.
    pub tokens: Tensor<2, Int>,
    /// `[b]` index of each row's last real token.
    pub last: Tensor<1, Int>,
}

/// Builds a [`ScoreBatch`] from non-empty sequences.
pub fn collate_scores(seqs: &[&[u32]], pad_id: u32, device: &Device) -> ScoreBatch {
    let b = seqs.len();
    let t = seqs.iter().map(|s| s.len()).max().unwrap_or(1).max(1);
    let mut ids = vec![i64::from(pad_id); b * t];
    let mut last = Vec::with_capacity(b);
    for (i, s) in seqs.iter().enumerate() {
        for (j, &tok) in s.iter().enumerate() {
            ids[i * t + j] = i64::from(tok);
        }
        last.push(s.len().saturating_sub(1) as i64);
    }
    ScoreBatch {
        tokens: ints(ids, [b, t], device),
        last: ints(last, [b], device),
    }
}
