//! Divergences between the target `p = P/Ẑ` and the policy π, estimated by importance sampling
//! from one batch `x_1 … x_n ∼ q` (Go et al., ICML 2023, the IS estimates of their metrics;
//! `p_i = P(x_i)/Ẑ`, `π_i = π(x_i)`, `q_i = q(x_i)`):
//!
//! - `KL(p‖π) ≈ (1/n) Σ_i (p_i/q_i)(log p_i − log π_i)`
//!   `= (1/Ẑ)·mean_i[(P_i/q_i)(log P_i − log Ẑ − log π_i)]`;
//! - `TV(p, π) = ½ Σ_x |p − π| ≈ ½ (1/n) Σ_i |p_i − π_i| / q_i`;
//! - `JS(p, π) = ½ KL(p‖m) + ½ KL(π‖m)`, `m = (p + π)/2`
//!   `≈ (1/n) Σ_i [½ (p_i/q_i) log(2p_i/(p_i + π_i)) + ½ (π_i/q_i) log(2π_i/(p_i + π_i))]`,
//!   with `log(2p/(p+π)) = log 2 − softplus(log π − log p)` (the usual JS, in nats, ≤ log 2).
//!
//! Every ratio is formed in log space. A sample with `p_i = 0` (`log p_i = −∞`) contributes 0 to
//! KL, `½ π_i/q_i` to TV and `½ (π_i/q_i) log 2` to JS. With `Ẑ` cumulative (not re-normalised
//! over the batch) the estimates are noisy and KL can come out slightly negative; they are
//! sequence-level (over whole responses), averaged over the batch's prompts.

use serde::{Deserialize, Serialize};

use super::divergence::softplus;

/// The IS estimates of one batch (module docs for the estimators).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DivergenceEstimates {
    /// `KL(p‖π)` in nats.
    pub kl_p_pi: f64,
    /// `TV(p, π)` ∈ [0, 1].
    pub tv_p_pi: f64,
    /// `JS(p, π)` in nats, ∈ [0, log 2].
    pub js_p_pi: f64,
}

/// `(1/n) Σ_i (p_i/q_i)(log p_i − log r_i)`, the IS estimate of `KL(p‖r)` from samples of `q`;
/// all arguments are per-sample log-probabilities (`log p_i = log P_i − log Ẑ`, `−∞` where
/// `P = 0`). `KL(p‖π)` is `kl_from_target(log_p, log_pi, log_q)`, `KL(p‖q)` is
/// `kl_from_target(log_p, log_q, log_q)`.
pub fn kl_from_target(log_p: &[f64], log_r: &[f64], log_q: &[f64]) -> f64 {
    let n = log_p.len().max(1) as f64;
    log_p
        .iter()
        .zip(log_r)
        .zip(log_q)
        .filter(|((lp, _), _)| **lp > f64::NEG_INFINITY)
        .map(|((lp, lr), lq)| (lp - lq).exp() * (lp - lr))
        .sum::<f64>()
        / n
}

/// KL, TV and JS between `p` and π from samples of `q` (module docs); per-sample
/// log-probabilities as in [`kl_from_target`].
pub fn divergence_estimates(log_p: &[f64], log_pi: &[f64], log_q: &[f64]) -> DivergenceEstimates {
    let n = log_p.len().max(1) as f64;
    let ln2 = std::f64::consts::LN_2;
    let (mut tv, mut js) = (0.0, 0.0);
    for ((&lp, &lpi), &lq) in log_p.iter().zip(log_pi).zip(log_q) {
        let (p_q, pi_q) = ((lp - lq).exp(), (lpi - lq).exp());
        tv += 0.5 * (p_q - pi_q).abs();
        if lp > f64::NEG_INFINITY {
            js += 0.5 * p_q * (ln2 - softplus(lpi - lp)) + 0.5 * pi_q * (ln2 - softplus(lp - lpi));
        } else {
            js += 0.5 * pi_q * ln2;
        }
    }
    DivergenceEstimates {
        kl_p_pi: kl_from_target(log_p, log_pi, log_q),
        tv_p_pi: tv / n,
        js_p_pi: js / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enumerating a 3-outcome space with q uniform and one "sample" per outcome makes the
    /// estimators exact: p = (0.5, 0.5, 0), π = (0.25, 0.25, 0.5), q = ⅓ each.
    /// - KL(p‖π) = 2·0.5·log(0.5/0.25) = log 2 = 0.6931472 (the P = 0 outcome adds nothing);
    /// - TV = ½(0.25 + 0.25 + 0.5) = 0.5;
    /// - JS: m = (0.375, 0.375, 0.25); ½KL(p‖m) = ½·2·0.5·log(0.5/0.375) = ½ log(4/3);
    ///   ½KL(π‖m) = ½[2·0.25·log(0.25/0.375) + 0.5·log 2] = ½[0.5 log(2/3) + 0.5 log 2]
    ///   = ¼ log(4/3); JS = ¾ log(4/3) = 0.2157616.
    #[test]
    fn golden_estimates_by_enumeration() {
        let ln = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<_>>();
        let e = divergence_estimates(
            &ln(&[0.5, 0.5, 0.0]),
            &ln(&[0.25, 0.25, 0.5]),
            &ln(&[1.0 / 3.0; 3]),
        );
        assert!((e.kl_p_pi - std::f64::consts::LN_2).abs() < 1e-12, "{e:?}");
        assert!((e.tv_p_pi - 0.5).abs() < 1e-12, "{e:?}");
        assert!(
            (e.js_p_pi - 0.75 * (4.0f64 / 3.0).ln()).abs() < 1e-12,
            "{e:?}"
        );
        // p = π: all three vanish.
        let same = divergence_estimates(&ln(&[0.5, 0.5]), &ln(&[0.5, 0.5]), &ln(&[0.5, 0.5]));
        assert!(same.kl_p_pi.abs() < 1e-12 && same.tv_p_pi < 1e-12 && same.js_p_pi.abs() < 1e-12);
    }
}
