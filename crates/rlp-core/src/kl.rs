//! Monte-Carlo KL estimators for samples `y ~ π`, with `r = π_ref(y)/π(y)` per token
//! (Schulman's k1, k2, k3; `docs/algorithms.md`, "RLHF with PPO").
//!
//! All three estimate `KL(π ‖ π_ref)`, the *policy-to-reference* direction that PPO's penalty
//! uses. With `log r = log π_ref - log π`:
//! - k1 = `-log r` (unbiased, high variance, can be negative per token),
//! - k2 = `½ (log r)²` (biased, low variance, ≥ 0),
//! - k3 = `(r - 1) - log r` (unbiased, ≥ 0).

use burn::tensor::Tensor;

use crate::masked::masked_sum_rows;

/// Which per-token estimator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KlEstimator {
    /// `-log r = log π - log π_ref`.
    #[default]
    K1,
    /// `½ (log r)²`.
    K2,
    /// `(r - 1) - log r`.
    K3,
}

/// Per-token KL estimate `[batch, time]` from the policy's and the reference's log-probs of the
/// sampled tokens.
pub fn kl_per_token(logp: Tensor<2>, ref_logp: Tensor<2>, estimator: KlEstimator) -> Tensor<2> {
    let log_r = ref_logp - logp;
    match estimator {
        KlEstimator::K1 => log_r.neg(),
        KlEstimator::K2 => log_r.square() * 0.5,
        KlEstimator::K3 => (log_r.clone().exp() - 1.0) - log_r,
    }
}

/// Per-sequence KL `[batch]`: the per-token estimate summed over the response mask.
pub fn kl_per_sequence(
    logp: Tensor<2>,
    ref_logp: Tensor<2>,
    mask: Tensor<2>,
    estimator: KlEstimator,
) -> Tensor<1> {
    masked_sum_rows(kl_per_token(logp, ref_logp, estimator), mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_backend;
    use crate::tensor_io::{floats, to_f32};
    use proptest::prelude::*;

    // Golden: log π = ln 0.5, log π_ref = ln 0.25 → log r = ln 0.5 = -0.693147, r = 0.5.
    // k1 = 0.693147; k2 = ½·0.480453 = 0.240227; k3 = (0.5 - 1) + 0.693147 = 0.193147.
    // Second token: log π = log π_ref → all three are 0. Masked sum over both = the first.
    #[test]
    fn golden_estimators() {
        let d = test_backend().device().unwrap();
        let lp = floats(vec![0.5f32.ln(), -1.0], [1, 2], &d);
        let rp = floats(vec![0.25f32.ln(), -1.0], [1, 2], &d);
        let m = floats(vec![1.0, 1.0], [1, 2], &d);
        for (est, want) in [
            (KlEstimator::K1, 0.693147),
            (KlEstimator::K2, 0.240227),
            (KlEstimator::K3, 0.193147),
        ] {
            let tok = to_f32(kl_per_token(lp.clone(), rp.clone(), est));
            assert!(
                (tok[0] - want).abs() < 1e-5 && tok[1].abs() < 1e-6,
                "{est:?} {tok:?}"
            );
            let seq = to_f32(kl_per_sequence(lp.clone(), rp.clone(), m.clone(), est));
            assert!((seq[0] - want).abs() < 1e-5);
        }
    }

    // Exact KL(π‖π_ref) for π = [0.7, 0.3], π_ref = [0.4, 0.6]:
    // 0.7 ln(0.7/0.4) + 0.3 ln(0.3/0.6) = 0.391731 - 0.207944 = 0.183787.
    // k1 and k3 are unbiased, so their π-weighted means equal it exactly.
    #[test]
    fn k1_and_k3_are_unbiased_on_a_known_pair() {
        let d = test_backend().device().unwrap();
        let p = [0.7f32, 0.3];
        let q = [0.4f32, 0.6];
        let lp = floats(p.iter().map(|x| x.ln()).collect(), [1, 2], &d);
        let rp = floats(q.iter().map(|x| x.ln()).collect(), [1, 2], &d);
        for est in [KlEstimator::K1, KlEstimator::K3] {
            let tok = to_f32(kl_per_token(lp.clone(), rp.clone(), est));
            let e = p[0] * tok[0] + p[1] * tok[1];
            assert!((e - 0.183787).abs() < 1e-5, "{est:?} {e}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn k2_k3_nonnegative_and_match_naive(xs in prop::collection::vec((-6.0f32..0.0, -6.0f32..0.0, any::<bool>()), 1..12)) {
            let d = test_backend().device().unwrap();
            let n = xs.len();
            let lp = floats(xs.iter().map(|x| x.0).collect(), [1, n], &d);
            let rp = floats(xs.iter().map(|x| x.1).collect(), [1, n], &d);
            let m = floats(xs.iter().map(|x| x.2 as u8 as f32).collect(), [1, n], &d);
            for est in [KlEstimator::K1, KlEstimator::K2, KlEstimator::K3] {
                let tok = to_f32(kl_per_token(lp.clone(), rp.clone(), est));
                let mut sum = 0.0f64;
                for (i, (a, b, keep)) in xs.iter().enumerate() {
                    let lr = (*b - *a) as f64;
                    let want = match est { KlEstimator::K1 => -lr, KlEstimator::K2 => 0.5 * lr * lr, KlEstimator::K3 => lr.exp() - 1.0 - lr };
                    prop_assert!((tok[i] as f64 - want).abs() < 1e-3 * (1.0 + want.abs()));
                    if est != KlEstimator::K1 { prop_assert!(tok[i] >= -1e-6); }
                    if *keep { sum += want; }
                }
                let seq = to_f32(kl_per_sequence(lp.clone(), rp.clone(), m.clone(), est))[0] as f64;
                prop_assert!((seq - sum).abs() < 1e-3 * (1.0 + sum.abs()));
            }
        }
    }
}
