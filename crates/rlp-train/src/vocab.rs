//! Vocabulary growth: `K` new token ids appended to a model's vocabulary and to its tokenizer, for
//! control tokens such as Quark's reward tokens (Lu et al., NeurIPS 2022, "Quark: Controllable
//! Text Generation with Reinforced Unlearning").
//!
//! - Model ([`grow_vocab`]): the embedding matrix `[V, d]` gets `K` new rows (ids `V … V+K−1`),
//!   an untied LM head `[d, V]` (burn's layout) `K` new columns, and `config.vocab_size` becomes
//!   `V + K`. A tied head follows the embedding.
//! - Initialisation: **per dimension**. New row `e_new[j] ∼ N(μ_j, σ_j²)` independently, where
//!   `μ_j` and `σ_j` are the mean and the population standard deviation (divisor `V`) of column
//!   `j` of the existing embedding matrix over its `V` rows: the diagonal form of the
//!   mean-and-covariance initialisation of Hugging Face's `resize_token_embeddings`. A new token
//!   so starts as a typical token without being any particular one. An untied head's new columns
//!   are drawn the same way from its existing columns (head row `j` over its `V` entries), and a
//!   head bias, if any, is extended with the mean of its existing entries.
//! - Exactness: existing rows and columns are copied unchanged, so on a sequence without the new
//!   ids the grown model's logits over ids `0 … V−1` are the original model's (bit for bit on
//!   flex in the tests; a backend may block the wider LM-head product differently, ~1e-7); the
//!   softmax over `V + K` ids does give the new ids some mass, which
//!   `rlp_models::vocab::suppress_outputs` removes at generation time.
//! - Tokenizer (`rlp_models::vocab::add_special_tokens`): the new strings become special tokens
//!   of the tokenizer, with ids `V … V+K−1` when the tokenizer has exactly `V` ids.
//!   [`grow_vocab_with_tokens`] does both sides and checks that model and tokenizer agree
//!   afterwards.

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use rlp_core::SeededRng;
use rlp_core::tensor_io::{floats, to_f32};
use rlp_models::vocab::add_special_tokens;
use rlp_models::{CausalLm, ModelError, Result, TextTokenizer};

/// Per-column mean and population standard deviation (divisor `rows`) of a row-major
/// `[rows, cols]` matrix, in `f64`. `rows = 0` gives zeros.
pub fn column_moments(values: &[f32], rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0f64; cols];
    let mut var = vec![0.0f64; cols];
    if rows == 0 {
        return (mean, var);
    }
    for row in values.chunks(cols).take(rows) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    for row in values.chunks(cols).take(rows) {
        for ((v, &x), m) in var.iter_mut().zip(row).zip(&mean) {
            *v += (x as f64 - m).powi(2);
        }
    }
    let std = var.into_iter().map(|v| (v / rows as f64).sqrt()).collect();
    (mean, std)
}

/// The per-dimension mean and standard deviation of `model`'s embedding rows (what
/// [`grow_vocab`] draws new rows from), each of length `d`.
pub fn embedding_moments(model: &CausalLm) -> (Vec<f64>, Vec<f64>) {
    let w = model.embed_tokens.weight.val();
    let [rows, cols] = w.dims();
    column_moments(&to_f32(w), rows, cols)
}

/// `k` new rows `[k, cols]` (row-major), element `j` of each drawn from `N(μ_j, σ_j²)` with the
/// column moments of `existing` (`[rows, cols]`).
fn draw_rows(
    existing: &[f32],
    rows: usize,
    cols: usize,
    k: usize,
    rng: &mut SeededRng,
) -> Vec<f32> {
    let (mean, std) = column_moments(existing, rows, cols);
    (0..k)
        .flat_map(|_| {
            (0..cols)
                .map(|j| (mean[j] + std[j] * rng.normal()) as f32)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `model` with `k` new token ids `V … V+K−1` (module docs: embedding rows and untied-head
/// columns drawn per dimension from the existing ones' mean and standard deviation, in that
/// order, from `rng`). The new parameters live on the model's device (trainable on an autodiff
/// device); `k = 0` returns the model unchanged. Errors when the embedding or head shape does
/// not match the config.
pub fn grow_vocab(model: CausalLm, k: usize, rng: &mut SeededRng) -> Result<CausalLm> {
    if k == 0 {
        return Ok(model);
    }
    let (v, d) = (model.config.vocab_size, model.config.hidden_size);
    let device = model.device();
    let emb = model.embed_tokens.weight.val();
    if emb.dims() != [v, d] {
        return Err(ModelError::input(
            "model.embed_tokens",
            format!(
                "shape {:?} does not match vocab_size × hidden_size = [{v}, {d}]",
                emb.dims()
            ),
        ));
    }
    let mut rows = to_f32(emb);
    let new_rows = draw_rows(&rows, v, d, k, rng);
    rows.extend(new_rows);
    let embed_tokens = Embedding {
        weight: Param::from_tensor(floats(rows, [v + k, d], &device)),
    };
    let lm_head = match model.lm_head {
        None => None,
        Some(head) => {
            let w = head.weight.val();
            if w.dims() != [d, v] {
                return Err(ModelError::input(
                    "model.lm_head",
                    format!(
                        "shape {:?} does not match hidden_size × vocab_size = [{d}, {v}]",
                        w.dims()
                    ),
                ));
            }
            // Column-major view of the head: one row of `d` values per output id.
            let mut by_id = to_f32(w.transpose());
            let new_cols = draw_rows(&by_id, v, d, k, rng);
            by_id.extend(new_cols);
            let weight = floats(by_id, [v + k, d], &device).transpose();
            let bias = head.bias.map(|b| {
                let mut values = to_f32(b.val());
                let mean = values.iter().map(|&x| x as f64).sum::<f64>() / v.max(1) as f64;
                values.extend(std::iter::repeat_n(mean as f32, k));
                Param::from_tensor(floats(values, [v + k], &device))
            });
            Some(Linear {
                weight: Param::from_tensor(weight),
                bias,
            })
        }
    };
    let mut config = model.config;
    config.vocab_size = v + k;
    Ok(CausalLm {
        embed_tokens,
        layers: model.layers,
        norm: model.norm,
        lm_head,
        config,
    })
}

/// Both sides of vocabulary growth: `tokens` added to `tokenizer` ([`add_special_tokens`]) and
/// the model grown by as many rows ([`grow_vocab`]), so that the `K` new strings encode to the
/// `K` new rows `V … V+K−1`. Returns the grown model, the grown tokenizer and the new ids.
/// Errors: a tokenizer whose size differs from the model's `vocab_size` before (the new ids
/// would not be the new rows: a model whose vocabulary is padded beyond its tokenizer's is not
/// supported) or after, and the errors of the two steps.
pub fn grow_vocab_with_tokens(
    model: CausalLm,
    tokenizer: &TextTokenizer,
    tokens: &[String],
    rng: &mut SeededRng,
) -> Result<(CausalLm, TextTokenizer, Vec<u32>)> {
    let v = model.config.vocab_size;
    if tokenizer.vocab_size() != v {
        return Err(ModelError::VocabMismatch {
            tokenizer: tokenizer.vocab_size(),
            model: v,
        });
    }
    let (grown_tokenizer, ids) = add_special_tokens(tokenizer, tokens)?;
    let grown = grow_vocab(model, tokens.len(), rng)?;
    if grown_tokenizer.vocab_size() != grown.config.vocab_size {
        return Err(ModelError::VocabMismatch {
            tokenizer: grown_tokenizer.vocab_size(),
            model: grown.config.vocab_size,
        });
    }
    Ok((grown, grown_tokenizer, ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::tensor_io::max_abs_diff;
    use rlp_models::testing::{bpe_tokenizer, logits_over, tiny_lm};

    /// The largest deviations, in units of σ_j, of the per-column mean and std of `new`
    /// (`[rows, d]`) from `(mean, std)`.
    fn worst_deviation(new: &[f32], rows: usize, mean: &[f64], std: &[f64]) -> (f64, f64) {
        let (m, s) = column_moments(new, rows, mean.len());
        (0..mean.len()).fold((0.0, 0.0), |(dm, ds), j| {
            (
                f64::max(dm, (m[j] - mean[j]).abs() / std[j]),
                f64::max(ds, (s[j] - std[j]).abs() / std[j]),
            )
        })
    }

    // The grown model computes the original's logits over the original ids, for tied and untied
    // heads; the new embedding rows (and untied-head columns) keep the old ones' per-dimension
    // moments. Tolerance: with K = 4000 draws the standard error of a column mean is
    // σ/√4000 ≈ 0.016σ and of a column std ≈ σ/√8000 ≈ 0.011σ; 0.08σ is 5–7 standard errors,
    // over 64 columns.
    #[test]
    fn grown_model_keeps_the_original_function_and_draws_from_the_moments() {
        let (v, d, k) = (50, 64, 4000);
        for tied in [false, true] {
            let base = tiny_lm(v, tied, 1);
            let toks = vec![1, 5, 9, 3, 7, 2, 0, 49, 11, 4];
            let before = logits_over(&base, &toks, v);
            let (mean, std) = embedding_moments(&base);
            let grown = grow_vocab(base.clone(), k, &mut SeededRng::new(2)).unwrap();
            assert_eq!(grown.config.vocab_size, v + k);
            assert_eq!(grown.embed_tokens.weight.val().dims(), [v + k, d]);
            let after = logits_over(&grown, &toks, v);
            let diff = max_abs_diff(&before, &after);
            let all = to_f32(grown.embed_tokens.weight.val());
            assert_eq!(&all[..v * d], &to_f32(base.embed_tokens.weight.val())[..]);
            let (dm, ds) = worst_deviation(&all[v * d..], k, &mean, &std);
            eprintln!(
                "tied = {tied}: logits over the original ids differ by {diff:e}; new rows' \
                 column means within {dm:.4}σ, stds within {ds:.4}σ"
            );
            assert!(diff < 1e-5, "tied = {tied}: logits differ by {diff}");
            assert!(dm < 0.08 && ds < 0.08, "embedding moments off: {dm}, {ds}");
            if !tied {
                let old = base.lm_head.as_ref().unwrap().weight.val();
                let new = grown.lm_head.as_ref().unwrap().weight.val();
                assert_eq!(new.dims(), [d, v + k]);
                let old_by_id = to_f32(old.transpose());
                let new_by_id = to_f32(new.transpose());
                assert_eq!(&new_by_id[..v * d], &old_by_id[..]);
                let (hm, hs) = column_moments(&old_by_id, v, d);
                let (dm, ds) = worst_deviation(&new_by_id[v * d..], k, &hm, &hs);
                eprintln!("untied head: new columns' means within {dm:.4}σ, stds within {ds:.4}σ");
                assert!(dm < 0.08 && ds < 0.08, "head moments off: {dm}, {ds}");
            }
        }
    }

    // Golden moments: columns [1, 3] and [2, 6] → means [2, 4], population stds [1, 2].
    #[test]
    fn golden_column_moments() {
        let (m, s) = column_moments(&[1., 2., 3., 6.], 2, 2);
        assert_eq!((m, s), (vec![2.0, 4.0], vec![1.0, 2.0]));
    }

    #[test]
    fn tokenizer_and_model_grow_together() {
        let tk = bpe_tokenizer();
        let v = tk.vocab_size();
        for tied in [false, true] {
            let names: Vec<String> = (0..3).map(|i| format!("<|ctl_{i}|>")).collect();
            let (m, grown, ids) =
                grow_vocab_with_tokens(tiny_lm(v, tied, 3), &tk, &names, &mut SeededRng::new(4))
                    .unwrap();
            assert_eq!(ids, vec![v as u32, v as u32 + 1, v as u32 + 2]);
            assert_eq!(grown.vocab_size(), v + 3);
            assert_eq!(m.config.vocab_size, grown.vocab_size());
            assert_eq!((grown.eos_id, grown.pad_id), (tk.eos_id, tk.pad_id));
            for (name, &id) in names.iter().zip(&ids) {
                assert_eq!(grown.encode(name).unwrap(), vec![id]);
                assert_eq!(grown.decode(&[id], false).unwrap(), *name);
            }
            // Existing text encodes as before; a new token inside text is matched whole.
            let text = "the movie was great";
            let old = tk.encode(text).unwrap();
            assert_eq!(grown.encode(text).unwrap(), old);
            let mixed = grown.encode(&format!("{}{text}", names[2])).unwrap();
            assert_eq!(mixed[0], ids[2]);
            assert_eq!(&mixed[1..], &old[..]);
            assert_eq!(grown.decode(&mixed, true).unwrap(), text);
            // The added tokens survive tokenizer.json.
            let dir = rlp_core::ScratchDir::new("vocab").unwrap();
            grown.save(dir.join("tokenizer.json")).unwrap();
            let back = TextTokenizer::load(dir.join("tokenizer.json")).unwrap();
            assert_eq!(back.vocab_size(), v + 3);
            assert_eq!(back.encode(&names[1]).unwrap(), vec![ids[1]]);
        }
        let r = grow_vocab_with_tokens(
            tiny_lm(v + 1, false, 3),
            &tk,
            &["<b>".into()],
            &mut SeededRng::new(0),
        );
        assert!(matches!(r, Err(ModelError::VocabMismatch { .. })));
    }
}
