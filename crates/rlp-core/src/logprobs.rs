//! Log-probabilities of chosen tokens and entropies, from logits.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor};

/// `log π(y_t | s_t)` for the chosen tokens: `log_softmax(logits)[b, t, tokens[b, t]]`.
///
/// `logits` is `[batch, time, vocab]`, `tokens` is `[batch, time]`; the result is `[batch, time]`.
/// Callers align logits and tokens (logits at position t predict token t+1).
pub fn token_logprobs(logits: Tensor<3>, tokens: Tensor<2, Int>) -> Tensor<2> {
    let logp = log_softmax(logits, 2);
    logp.gather(2, tokens.unsqueeze_dim(2)).squeeze_dim(2)
}

/// Entropy of the next-token distribution at every position: `H = -Σ_v p_v log p_v`,
/// `[batch, time, vocab] → [batch, time]`.
pub fn entropy_from_logits(logits: Tensor<3>) -> Tensor<2> {
    let logp = log_softmax(logits.clone(), 2);
    let p = softmax(logits, 2);
    (p * logp).sum_dim(2).squeeze_dim(2).neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_backend;
    use crate::tensor_io::{floats, ints, to_f32};
    use proptest::prelude::*;

    // Golden: logits [0, ln 2, ln 3] → p = [1/6, 2/6, 3/6].
    // log p(token 2) = ln(1/2) = -0.693147; log p(token 0) = ln(1/6) = -1.791759.
    // H = -(1/6 ln 1/6 + 1/3 ln 1/3 + 1/2 ln 1/2) = 0.298627 + 0.366204 + 0.346574 = 1.011404.
    #[test]
    fn golden_logprob_and_entropy() {
        let d = test_backend().device().unwrap();
        let l = [0.0f32, 2f32.ln(), 3f32.ln()];
        let logits = floats(l.iter().chain(l.iter()).copied().collect(), [1, 2, 3], &d);
        let toks = ints(vec![2, 0], [1, 2], &d);
        let lp = to_f32(token_logprobs(logits.clone(), toks));
        assert!(
            (lp[0] + 0.693147).abs() < 1e-5 && (lp[1] + 1.791759).abs() < 1e-5,
            "{lp:?}"
        );
        let h = to_f32(entropy_from_logits(logits));
        assert!((h[0] - 1.011404).abs() < 1e-5, "{h:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn matches_naive(b in 1usize..4, t in 1usize..5, v in 2usize..9, seed in any::<u64>()) {
            let mut r = crate::SeededRng::new(seed);
            let xs: Vec<f32> = (0..b * t * v).map(|_| (r.normal() * 3.0) as f32).collect();
            let ys: Vec<i64> = (0..b * t).map(|_| r.below(v) as i64).collect();
            let d = test_backend().device().unwrap();
            let lp = to_f32(token_logprobs(floats(xs.clone(), [b, t, v], &d), ints(ys.clone(), [b, t], &d)));
            let h = to_f32(entropy_from_logits(floats(xs.clone(), [b, t, v], &d)));
            for i in 0..b * t {
                let row = &xs[i * v..(i + 1) * v];
                let m = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
                let lse = m + row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
                prop_assert!((lp[i] as f64 - (row[ys[i] as usize] as f64 - lse)).abs() < 1e-4);
                let ent: f64 = row.iter().map(|&x| { let l = x as f64 - lse; -l.exp() * l }).sum();
                prop_assert!((h[i] as f64 - ent).abs() < 1e-4);
            }
        }
    }
}
