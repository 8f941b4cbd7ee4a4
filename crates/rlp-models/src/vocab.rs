//! The tokenizer and decoding side of vocabulary growth, for control tokens such as Quark's
//! reward tokens (Lu et al., NeurIPS 2022, "Quark: Controllable Text Generation with Reinforced
//! Unlearning"):
//!
//! - [`add_special_tokens`]: the new strings become special tokens of the tokenizer (whole-string
//!   matches, never split, skipped by `decode(.., true)`), with ids `V … V+K−1` when the
//!   tokenizer has exactly `V` ids;
//! - [`suppress_outputs`]: a copy of a grown model that never outputs the new ids, for sampling.
//!
//! The model side (new embedding rows and head columns drawn from the existing ones' moments)
//! is `rlp_train::vocab`, with the training layer.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::Tensor;
use rlp_core::tensor_io::floats;
use tokenizers::AddedToken;

use crate::error::{ModelError, Result};
use crate::model::CausalLm;
use crate::tokenizer::TextTokenizer;

/// The logit offset [`suppress_outputs`] adds to suppressed ids: far below any real logit, so
/// `exp(offset)` is exactly 0 in `f32` and a suppressed id is never sampled.
pub const SUPPRESSED_LOGIT: f32 = -1e9;

/// A copy of `tokenizer` with `tokens` added as special tokens, and their ids (in order).
/// The special ids of `tokenizer` (`eos_id`, `pad_id`) and its default system message carry
/// over. Errors: an empty or repeated string, a string the tokenizer already knows, or ids that
/// are not `n … n+K−1` for a tokenizer of `n` ids.
pub fn add_special_tokens(
    tokenizer: &TextTokenizer,
    tokens: &[String],
) -> Result<(TextTokenizer, Vec<u32>)> {
    for (i, t) in tokens.iter().enumerate() {
        if t.is_empty() {
            return Err(ModelError::input("tokens", format!("token {i} is empty")));
        }
        if tokens[..i].contains(t) {
            return Err(ModelError::input("tokens", format!("`{t}` is repeated")));
        }
        if let Some(id) = tokenizer.token_id(t) {
            return Err(ModelError::input(
                "tokens",
                format!("`{t}` is already in the vocabulary (id {id})"),
            ));
        }
    }
    let n = tokenizer.vocab_size();
    let mut inner = tokenizer.inner().clone();
    let added: Vec<AddedToken> = tokens
        .iter()
        .map(|t| AddedToken::from(t.clone(), true))
        .collect();
    inner.add_special_tokens(&added);
    let ids: Vec<u32> = tokens
        .iter()
        .map(|t| {
            inner
                .token_to_id(t)
                .ok_or_else(|| ModelError::Tokenizer(format!("`{t}` was not added")))
        })
        .collect::<Result<_>>()?;
    let want: Vec<u32> = (n..n + tokens.len()).map(|i| i as u32).collect();
    if ids != want {
        return Err(ModelError::Tokenizer(format!(
            "the new tokens got ids {ids:?}, not {want:?} after the {n} existing ids"
        )));
    }
    let mut out = TextTokenizer::new(inner);
    out.eos_id = tokenizer.eos_id;
    out.pad_id = tokenizer.pad_id;
    out.default_system = tokenizer.default_system.clone();
    if out.vocab_size() != n + tokens.len() {
        return Err(ModelError::Tokenizer(format!(
            "{} ids after adding {} tokens to {n}",
            out.vocab_size(),
            tokens.len()
        )));
    }
    Ok((out, ids))
}

/// A copy of `model` (same device; pass a plain-device model, e.g. from `valid()`) that never
/// outputs ids `≥ first`: its LM head adds [`SUPPRESSED_LOGIT`] to their logits (through a head
/// bias; a tied head becomes an explicit copy of the embedding). Sampling at any temperature,
/// top-k or top-p never picks them, and the log-probs of the other ids are those of the
/// distribution renormalised over `0 … first−1`. Inputs may still contain suppressed ids (a
/// reward token in the prompt). For generation only: the copy is not meant to be trained or
/// saved.
pub fn suppress_outputs(model: &CausalLm, first: usize) -> CausalLm {
    let v = model.config.vocab_size;
    let device = model.device();
    let head = match &model.lm_head {
        Some(head) => head.clone(),
        None => Linear {
            weight: Param::from_tensor(model.embed_tokens.weight.val().transpose()),
            bias: None,
        },
    };
    let offsets: Vec<f32> = (0..v)
        .map(|i| if i >= first { SUPPRESSED_LOGIT } else { 0.0 })
        .collect();
    let offsets: Tensor<1> = floats(offsets, [v], &device);
    let bias = match head.bias {
        Some(b) => b.val() + offsets,
        None => offsets,
    };
    let mut out = model.clone();
    out.lm_head = Some(Linear {
        weight: head.weight,
        bias: Some(Param::from_tensor(bias)),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bpe_tokenizer, logits_over, tiny_lm};
    use rlp_core::tensor_io::max_abs_diff;

    #[test]
    fn special_tokens_refuse_known_repeated_and_empty_strings() {
        let tk = bpe_tokenizer();
        let e = |r: Result<(TextTokenizer, Vec<u32>)>| r.unwrap_err().to_string();
        assert!(e(add_special_tokens(&tk, &["<|endoftext|>".into()])).contains("already"));
        assert!(e(add_special_tokens(&tk, &["<a>".into(), "<a>".into()])).contains("repeated"));
        assert!(e(add_special_tokens(&tk, &["".into()])).contains("empty"));
    }

    #[test]
    fn suppressed_ids_get_no_mass_and_the_rest_renormalise() {
        for tied in [false, true] {
            let m = tiny_lm(40, tied, 5);
            let s = suppress_outputs(&m, 30);
            let toks = vec![1, 5, 9, 3, 7, 2, 35, 39, 11, 4];
            let (a, b) = (logits_over(&m, &toks, 40), logits_over(&s, &toks, 40));
            for (row_a, row_b) in a.chunks(40).zip(b.chunks(40)) {
                assert!(max_abs_diff(&row_a[..30], &row_b[..30]) < 1e-5);
                assert!(row_b[30..].iter().all(|&x| x < -1e8));
                let lse = |r: &[f32]| {
                    let mx = r.iter().copied().fold(f32::MIN, f32::max);
                    mx + r.iter().map(|x| (x - mx).exp()).sum::<f32>().ln()
                };
                // log-softmax of the suppressed copy = log-softmax over the first 30 ids.
                let (za, zb) = (lse(&row_a[..30]), lse(row_b));
                assert!((za - zb).abs() < 1e-5);
            }
        }
    }
}
