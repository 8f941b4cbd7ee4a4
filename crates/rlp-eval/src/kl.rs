//! Sequence-level KL summaries of sampled responses: `KL(π ‖ π_ref)`, the **policy-to-
//! reference** direction PPO's penalty uses (`docs/algorithms.md`, "RLHF with PPO"), from the
//! per-token log-probs of responses `y ~ π` under both models.
//!
//! With `log r_t = log π_ref(y_t | s_t) - log π(y_t | s_t)` (the same `r = π_ref/π` as
//! [`rlp_core::kl`]):
//! - k1 = `Σ_t -log r_t = Σ_t (log π - log π_ref)` (unbiased; one sequence can be negative),
//! - k3 = `Σ_t ((r_t - 1) - log r_t)` (unbiased, every term ≥ 0).
//!
//! Each is reported as the mean over sequences with its standard error. Both are unbiased for
//! `KL(π ‖ π_ref)` only when the responses were sampled from `π` itself (temperature 1, no
//! top-k/top-p); otherwise they estimate `E_{y~q}[Σ_t …]` under the sampler `q`.

use burn::tensor::Tensor;
use rlp_core::kl::{KlEstimator, kl_per_sequence};
use rlp_core::tensor_io::to_f32;
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result, non_empty, same_len};
use crate::stats::MeanSe;

/// k1 and k3 sequence KL, each `mean ± se` over sequences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequenceKl {
    /// `Σ_t (log π - log π_ref)` per sequence.
    pub k1: MeanSe,
    /// `Σ_t ((r - 1) - log r)` per sequence, `r = π_ref/π`.
    pub k3: MeanSe,
}

/// k1 and k3 of one sequence from its per-token log-probs, in f64 (k3 through `exp_m1` so
/// tiny differences keep their precision).
pub fn sequence_k1_k3(logp: &[f32], ref_logp: &[f32]) -> (f64, f64) {
    logp.iter()
        .zip(ref_logp)
        .fold((0.0, 0.0), |(k1, k3), (&lp, &rp)| {
            let log_r = rp as f64 - lp as f64;
            (k1 - log_r, k3 + (log_r.exp_m1() - log_r))
        })
}

/// Sequence KL from ragged host log-probs: `policy_logprobs[i][t]` and
/// `reference_logprobs[i][t]` are `log π(y_t)` and `log π_ref(y_t)` of response `i`'s tokens.
/// Errors on no sequences, on different counts (naming the arguments), on a sequence whose
/// two rows differ in length (naming its index) and on non-finite values.
pub fn sequence_kl(
    policy_logprobs: &[Vec<f32>],
    reference_logprobs: &[Vec<f32>],
) -> Result<SequenceKl> {
    non_empty("policy_logprobs", policy_logprobs.len())?;
    same_len(
        "policy_logprobs",
        policy_logprobs.len(),
        "reference_logprobs",
        reference_logprobs.len(),
    )?;
    let mut k1 = Vec::with_capacity(policy_logprobs.len());
    let mut k3 = Vec::with_capacity(policy_logprobs.len());
    for (i, (p, r)) in policy_logprobs.iter().zip(reference_logprobs).enumerate() {
        same_len(
            &format!("policy_logprobs[{i}]"),
            p.len(),
            &format!("reference_logprobs[{i}]"),
            r.len(),
        )?;
        if p.iter().chain(r).any(|x| !x.is_finite()) {
            return Err(EvalError::input(
                "policy_logprobs/reference_logprobs",
                format!("sequence {i} has a non-finite log-prob"),
            ));
        }
        let (a, b) = sequence_k1_k3(p, r);
        k1.push(a);
        k3.push(b);
    }
    Ok(SequenceKl {
        k1: MeanSe::of(&k1),
        k3: MeanSe::of(&k3),
    })
}

/// Sequence KL from padded `[batch, time]` tensors and a response mask (1 = response token),
/// through [`rlp_core::kl::kl_per_sequence`] (f32 on the device); errors on shape mismatches.
pub fn sequence_kl_tensors(
    logp: Tensor<2>,
    ref_logp: Tensor<2>,
    mask: Tensor<2>,
) -> Result<SequenceKl> {
    let (a, b, m) = (logp.dims(), ref_logp.dims(), mask.dims());
    if a != b || a != m {
        return Err(EvalError::input(
            "logp/ref_logp/mask",
            format!("shapes differ: {a:?}, {b:?}, {m:?}"),
        ));
    }
    non_empty("logp", a[0])?;
    let per = |est| -> Vec<f64> {
        to_f32(kl_per_sequence(
            logp.clone(),
            ref_logp.clone(),
            mask.clone(),
            est,
        ))
        .into_iter()
        .map(f64::from)
        .collect()
    };
    Ok(SequenceKl {
        k1: MeanSe::of(&per(KlEstimator::K1)),
        k3: MeanSe::of(&per(KlEstimator::K3)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::floats;

    // Golden. Sequence 1: log π = [ln .5, ln .5], log π_ref = [ln .25, ln .5]
    //   → token 1: log r = ln .5, r = .5: k1 = 0.693147, k3 = (.5 - 1) + 0.693147 = 0.193147;
    //     token 2: 0. Sums k1 = 0.693147, k3 = 0.193147.
    // Sequence 2: log π = [ln .5], log π_ref = [0] → log r = ln 2, r = 2:
    //   k1 = -0.693147, k3 = (2 - 1) - 0.693147 = 0.306853.
    // k1: mean 0, se = |a - b|/2 (two values) = 0.693147.
    // k3: mean (0.193147 + 0.306853)/2 = 0.25, se = 0.113706/2 = 0.056853.
    #[test]
    fn golden_k1_k3() {
        let h = 0.5f32.ln();
        let p = vec![vec![h, h], vec![h]];
        let r = vec![vec![0.25f32.ln(), h], vec![0.0]];
        let kl = sequence_kl(&p, &r).unwrap();
        assert!(
            kl.k1.mean.abs() < 1e-6 && (kl.k1.se - 0.693147).abs() < 1e-6,
            "{kl:?}"
        );
        assert!(
            (kl.k3.mean - 0.25).abs() < 1e-6 && (kl.k3.se - 0.056853).abs() < 1e-6,
            "{kl:?}"
        );
        assert_eq!(kl.k1.n, 2);
        // The same through rlp-core's tensor estimators, padded with a mask.
        let d = test_backend().device().unwrap();
        let t = sequence_kl_tensors(
            floats(vec![h, h, h, 0.0], [2, 2], &d),
            floats(vec![0.25f32.ln(), h, 0.0, 0.0], [2, 2], &d),
            floats(vec![1.0, 1.0, 1.0, 0.0], [2, 2], &d),
        )
        .unwrap();
        assert!((t.k1.mean - kl.k1.mean).abs() < 1e-5 && (t.k3.mean - kl.k3.mean).abs() < 1e-5);
    }

    #[test]
    fn bad_input_names_the_argument() {
        let e = sequence_kl(&[], &[]).unwrap_err().to_string();
        assert!(e.contains("`policy_logprobs`"), "{e}");
        let e = sequence_kl(&[vec![0.0]], &[]).unwrap_err().to_string();
        assert!(e.contains("`reference_logprobs` has 0"), "{e}");
        let e = sequence_kl(&[vec![0.0]], &[vec![0.0, 0.0]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("reference_logprobs[0]"), "{e}");
        assert!(sequence_kl(&[vec![f32::NAN]], &[vec![0.0]]).is_err());
    }

    fn seqs() -> impl Strategy<Value = Vec<Vec<(f32, f32)>>> {
        prop::collection::vec(
            prop::collection::vec((-6.0f32..0.0, -6.0f32..0.0), 0..6),
            1..5,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn k3_nonnegative_k1_zero_on_self_and_tensor_path_agrees(xs in seqs()) {
            let p: Vec<Vec<f32>> = xs.iter().map(|s| s.iter().map(|x| x.0).collect()).collect();
            let r: Vec<Vec<f32>> = xs.iter().map(|s| s.iter().map(|x| x.1).collect()).collect();
            for (a, b) in p.iter().zip(&r) {
                prop_assert!(sequence_k1_k3(a, b).1 >= 0.0);
            }
            let same = sequence_kl(&p, &p).unwrap();
            prop_assert_eq!((same.k1.mean, same.k3.mean), (0.0, 0.0));
            let kl = sequence_kl(&p, &r).unwrap();
            let (b, t) = (xs.len(), xs.iter().map(Vec::len).max().unwrap_or(0).max(1));
            let pad = |v: &[Vec<f32>]| -> Vec<f32> {
                v.iter().flat_map(|s| s.iter().copied().chain(std::iter::repeat(0.0)).take(t)).collect()
            };
            let m: Vec<f32> = xs.iter().flat_map(|s| (0..t).map(move |j| (j < s.len()) as u8 as f32)).collect();
            let d = test_backend().device().unwrap();
            let tk = sequence_kl_tensors(floats(pad(&p), [b, t], &d), floats(pad(&r), [b, t], &d), floats(m, [b, t], &d)).unwrap();
            let tol = 1e-3 * (1.0 + kl.k3.mean.abs() + kl.k1.mean.abs());
            prop_assert!((tk.k1.mean - kl.k1.mean).abs() < tol, "{:?} {:?}", tk, kl);
            prop_assert!((tk.k3.mean - kl.k3.mean).abs() < tol, "{:?} {:?}", tk, kl);
        }
    }
}
