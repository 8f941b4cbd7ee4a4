//! PPO's clipped losses (Schulman et al. 2017; `docs/algorithms.md`), averaged over response tokens:
//! - policy: `L_pg = mean_t max(−A_t·ρ_t, −A_t·clip(ρ_t, 1−ε, 1+ε))`, `ρ_t = exp(log π_new − log π_old)`;
//! - value: `L_vf = ½·mean_t max((V_t − G_t)², (clip(V_t, V_old,t ± ε_v) − G_t)²)`.

use burn::tensor::Tensor;
use rlp_core::masked::masked_mean;
use rlp_core::tensor_io::scalar;

/// Diagnostics of the policy loss (host values).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PolicyLossStats {
    /// The loss value.
    pub loss: f64,
    /// Share of response tokens where the clipped term was the larger (the clip was active).
    pub clip_fraction: f64,
    /// `mean_t ½(log π_new − log π_old)²` (k2), how far the update moved the policy.
    pub approx_kl: f64,
}

/// Diagnostics of the value loss (host values).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ValueLossStats {
    /// The loss value.
    pub loss: f64,
    /// Share of response tokens where the clipped error was the larger.
    pub clip_fraction: f64,
}

/// The clipped surrogate `L_pg` (a one-element tensor to minimise) and its diagnostics. All
/// inputs are `[b, t]`; `old_logp` and `advantages` carry no gradient.
pub fn policy_loss(
    logp: Tensor<2>,
    old_logp: Tensor<2>,
    advantages: Tensor<2>,
    mask: Tensor<2>,
    clip: f64,
) -> (Tensor<1>, PolicyLossStats) {
    let log_ratio = logp - old_logp;
    let ratio = log_ratio.clone().exp();
    let unclipped = advantages.clone().neg() * ratio.clone();
    let clipped = advantages.neg() * ratio.clamp(1.0 - clip, 1.0 + clip);
    let active = clipped.clone().greater(unclipped.clone()).float();
    let loss = masked_mean(unclipped.max_pair(clipped), mask.clone());
    let stats = PolicyLossStats {
        loss: scalar(loss.clone().detach()),
        clip_fraction: scalar(masked_mean(active, mask.clone())),
        approx_kl: scalar(masked_mean(log_ratio.detach().square() * 0.5, mask)),
    };
    (loss, stats)
}

/// The clipped value loss `L_vf` and its diagnostics; `old_values` and `returns` carry no
/// gradient.
pub fn value_loss(
    values: Tensor<2>,
    old_values: Tensor<2>,
    returns: Tensor<2>,
    mask: Tensor<2>,
    clip: f64,
) -> (Tensor<1>, ValueLossStats) {
    let clipped_values = old_values.clone() + (values.clone() - old_values).clamp(-clip, clip);
    let err = (values - returns.clone()).square();
    let err_clipped = (clipped_values - returns).square();
    let active = err_clipped.clone().greater(err.clone()).float();
    let loss = masked_mean(err.max_pair(err_clipped), mask.clone()) * 0.5;
    let stats = ValueLossStats {
        loss: scalar(loss.clone().detach()),
        clip_fraction: scalar(masked_mean(active, mask)),
    };
    (loss, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::floats;

    fn t(v: &[f32], d: &burn::tensor::Device) -> Tensor<2> {
        floats(v.to_vec(), [1, v.len()], d)
    }

    /// ε = 0.2, three tokens (plus one masked out):
    /// 1. A = 1,  ρ = e^{ln 1.5} = 1.5: max(−1.5, −1.2) = −1.2 (clipped term larger);
    /// 2. A = −1, ρ = 0.5:              max(0.5, 0.8) = 0.8 (clipped term larger);
    /// 3. A = 2,  ρ = 1:                max(−2, −2) = −2 (not counted as clipped);
    /// L = (−1.2 + 0.8 − 2)/3 = −0.8; clip fraction 2/3;
    /// approx KL = ½(ln²1.5 + ln²0.5 + 0)/3 = ½(0.164402 + 0.480453)/3 = 0.107476.
    #[test]
    fn golden_policy_loss() {
        let d = test_backend().device().unwrap();
        let (loss, s) = policy_loss(
            t(&[1.5f32.ln(), 0.5f32.ln(), 0.0, 5.0], &d),
            t(&[0.0, 0.0, 0.0, 0.0], &d),
            t(&[1.0, -1.0, 2.0, 9.0], &d),
            t(&[1.0, 1.0, 1.0, 0.0], &d),
            0.2,
        );
        assert!((scalar(loss) + 0.8).abs() < 1e-5);
        assert!((s.clip_fraction - 2.0 / 3.0).abs() < 1e-6, "{s:?}");
        assert!((s.approx_kl - 0.107476).abs() < 1e-5, "{s:?}");
    }

    /// ε_v = 0.2, two tokens:
    /// 1. V = 1.0, V_old = 0.5, G = 1.0: clip(V) = 0.7 → max(0, 0.09) = 0.09 (clipped larger);
    /// 2. V = 0.0, V_old = 0.1, G = 1.0: clip(V) = 0.0 → max(1, 1) = 1;
    /// L = ½·(0.09 + 1)/2 = 0.2725; clip fraction ½.
    #[test]
    fn golden_value_loss() {
        let d = test_backend().device().unwrap();
        let (loss, s) = value_loss(
            t(&[1.0, 0.0], &d),
            t(&[0.5, 0.1], &d),
            t(&[1.0, 1.0], &d),
            t(&[1.0, 1.0], &d),
            0.2,
        );
        assert!((scalar(loss) - 0.2725).abs() < 1e-6);
        assert!((s.clip_fraction - 0.5).abs() < 1e-6, "{s:?}");
    }
}
