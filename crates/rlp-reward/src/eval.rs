//! Held-out evaluation of a reward model on preference pairs: pairwise accuracy
//! `P(r_w > r_l)` (ties ½) and the mean score gap `mean(r_w − r_l)`.

use rlp_core::PreferencePair;
use rlp_core::tensor_io::to_f32;
use rlp_models::TextTokenizer;

use crate::bradley_terry::pair_accuracy;
use crate::encode::{EncodedPair, Overlong, SkipCounts, collate_scores, encode_pairs};
use crate::error::{Result, RewardError};
use crate::model::RewardModel;

/// What an evaluation reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalReport {
    /// Pairs scored.
    pub pairs: usize,
    /// Fraction with `r_w > r_l` (ties ½).
    pub accuracy: f64,
    /// `mean(r_w − r_l)`.
    pub mean_gap: f64,
    /// Pairs left out, and why.
    pub skipped: SkipCounts,
}

/// Scores of the chosen and rejected sides of encoded pairs, `batch_size` pairs per forward.
pub fn score_pairs(
    model: &RewardModel,
    pairs: &[EncodedPair],
    pad_id: u32,
    batch_size: usize,
) -> (Vec<f32>, Vec<f32>) {
    let device = model.backbone.device();
    let (mut w, mut l) = (Vec::new(), Vec::new());
    for chunk in pairs.chunks(batch_size.max(1)) {
        let seqs: Vec<&[u32]> = chunk
            .iter()
            .map(|p| p.chosen.as_slice())
            .chain(chunk.iter().map(|p| p.rejected.as_slice()))
            .collect();
        let s = to_f32(model.score(&collate_scores(&seqs, pad_id, &device)));
        w.extend_from_slice(&s[..chunk.len()]);
        l.extend_from_slice(&s[chunk.len()..]);
    }
    (w, l)
}

/// Evaluates `model` on `pairs` (texts longer than `max_len` handled per `overlong`).
pub fn evaluate(
    model: &RewardModel,
    tokenizer: &TextTokenizer,
    pairs: &[PreferencePair],
    max_len: usize,
    overlong: Overlong,
    batch_size: usize,
) -> Result<EvalReport> {
    tokenizer.check_model_vocab(model.backbone.config.vocab_size)?;
    let (enc, skipped) = encode_pairs(tokenizer, pairs, max_len, overlong)?;
    if enc.is_empty() {
        return Err(RewardError::NoPairs {
            what: "the evaluation set".into(),
            skipped: skipped.to_string(),
        });
    }
    let pad = tokenizer.pad_id.unwrap_or(0);
    let (w, l) = score_pairs(model, &enc, pad, batch_size);
    let gap = w.iter().zip(&l).map(|(a, b)| f64::from(a - b)).sum::<f64>() / w.len() as f64;
    Ok(EvalReport {
        pairs: enc.len(),
        accuracy: pair_accuracy(&w, &l),
        mean_gap: gap,
        skipped,
    })
}
