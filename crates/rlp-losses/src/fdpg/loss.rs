//! f-DPG's surrogate loss (Go et al., ICML 2023, the f-DPG update with a proposal `q`):
//! for samples `x_i ∼ q`,
//!
//! `L = −(1/n) Σ_i w_i·(R_i − B)·log π(x_i)`, `w_i = π(x_i)/q(x_i)`, `R_i = −f′(π(x_i)/p(x_i))`,
//!
//! with `w`, `R` and the baseline `B` detached, so `∇L = −(1/n) Σ_i w_i (R_i − B) ∇log π(x_i)`, an
//! unbiased estimate of `E_π[f′(π/p) ∇log π] = ∇D_f(π‖p)` (the baseline term has expectation
//! `B·E_π[∇log π] = 0`). `log π(x)` is the teacher-forced sum of the response tokens' log-probs.

use burn::tensor::Tensor;
use rlp_core::tensor_io::floats;

/// The importance weight `w = π(x)/q(x) = exp(log π − log q)` (1 for the online proposal,
/// where the trainer skips the division).
pub fn importance_weight(log_pi: f64, log_q: f64) -> f64 {
    (log_pi - log_q).exp()
}

/// The per-sample coefficients `c_i = w_i·(R_i − B)` of `−log π(x_i)` in the loss.
pub fn loss_coefficients(weights: &[f64], pseudo_rewards: &[f64], baseline: f64) -> Vec<f64> {
    weights
        .iter()
        .zip(pseudo_rewards)
        .map(|(w, r)| w * (r - baseline))
        .collect()
}

/// `L = −mean_i c_i·log π(x_i)` (a one-element tensor) from `[n]` sequence log-probs that carry
/// the gradient and host coefficients ([`loss_coefficients`]).
pub fn fdpg_loss(logp: Tensor<1>, coefficients: &[f64]) -> Tensor<1> {
    let n = coefficients.len();
    let c = floats(
        coefficients.iter().map(|&c| c as f32).collect(),
        [n],
        &logp.device(),
    );
    (logp * c).mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{scalar, to_f32};

    /// w = (1, 2), R = (3, 0), B = 1: c = (1·2, 2·(−1)) = (2, −2); with log π = (−1, −2):
    /// L = −(2·(−1) + (−2)·(−2))/2 = −1; ∂L/∂log π_i = −c_i/2 = (−1, 1).
    #[test]
    fn golden_loss_and_gradient() {
        let c = loss_coefficients(&[1.0, 2.0], &[3.0, 0.0], 1.0);
        assert_eq!(c, vec![2.0, -2.0]);
        let d = test_backend().device().unwrap().autodiff();
        let logp = floats(vec![-1.0, -2.0], [2], &d).require_grad();
        let loss = fdpg_loss(logp.clone(), &c);
        assert!((scalar(loss.clone()) + 1.0).abs() < 1e-6);
        let g = to_f32(logp.grad(&loss.backward()).unwrap());
        assert!(
            (g[0] + 1.0).abs() < 1e-6 && (g[1] - 1.0).abs() < 1e-6,
            "{g:?}"
        );
        assert!((importance_weight(2f64.ln(), 0.0) - 2.0).abs() < 1e-12);
    }
}
