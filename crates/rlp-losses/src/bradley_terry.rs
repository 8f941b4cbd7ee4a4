//! The Bradley–Terry preference loss of reward modelling (Ouyang et al. 2022, eq. 1; as in
//! `docs/algorithms.md`, "Reward model"):
//!
//! `L = −mean_i log σ(r(x_i, y_w,i) − r(x_i, y_l,i) − m_i) + λ · mean_i (r_w,i² + r_l,i²) / 2`
//!
//! with an optional per-pair margin `m_i` (Llama 2's margin loss; 0 without one) and an optional
//! L2 penalty `λ` on the scores that keeps them near zero (0.001 in the literature), plus the
//! pairwise accuracy `P(r_w > r_l)` that every reward-model report quotes.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

/// The loss settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct BtConfig {
    /// `λ`: weight of the L2 penalty `mean (r_w² + r_l²) / 2` (0 disables it).
    pub l2: f64,
}

impl Default for BtConfig {
    fn default() -> Self {
        Self { l2: 0.0 }
    }
}

/// The loss over a batch: `r_w`, `r_l` `[n]` scores of the chosen and rejected responses,
/// `margin` `[n]` (or `None` for zero margins) → a one-element tensor.
pub fn bt_loss(
    r_w: Tensor<1>,
    r_l: Tensor<1>,
    margin: Option<Tensor<1>>,
    config: &BtConfig,
) -> Tensor<1> {
    let mut diff = r_w.clone() - r_l.clone();
    if let Some(m) = margin {
        diff = diff - m;
    }
    let nll = log_sigmoid(diff).neg().mean();
    if config.l2 > 0.0 {
        let l2 = (r_w.powi_scalar(2) + r_l.powi_scalar(2)).mean() * (config.l2 / 2.0);
        nll + l2
    } else {
        nll
    }
}

/// Pairwise accuracy: the fraction of pairs with `r_w > r_l`, a tie counting ½ (so a constant
/// model scores exactly 0.5). `NaN` for no pairs.
pub fn pair_accuracy(r_w: &[f32], r_l: &[f32]) -> f64 {
    assert_eq!(
        r_w.len(),
        r_l.len(),
        "chosen and rejected scores differ in length"
    );
    let wins: f64 = r_w
        .iter()
        .zip(r_l)
        .map(|(w, l)| match w.partial_cmp(l) {
            Some(std::cmp::Ordering::Greater) => 1.0,
            Some(std::cmp::Ordering::Equal) => 0.5,
            _ => 0.0,
        })
        .sum();
    wins / r_w.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData, Tolerance};
    use rlp_core::tensor_io::floats;

    fn t(v: Vec<f32>, device: &Device) -> Tensor<1> {
        let n = v.len();
        floats(v, [n], device)
    }

    fn assert_loss(l: Tensor<1>, expected: f64, tolerance: f64) {
        l.into_data().assert_approx_eq::<f32>(
            &TensorData::from([expected as f32]),
            Tolerance::absolute(tolerance),
        );
    }

    rlp_core::test_devices! {
        /// Golden values, derived by hand:
        /// - diff 0 → −log σ(0) = ln 2 = 0.693147;
        /// - diff 2 → −log σ(2) = ln(1 + e⁻²) = 0.126928;
        /// - diff −1 → ln(1 + e) = 1.313262.
        ///
        /// Pairs (1, 1), (3, 1), (0, 1): mean = (0.693147 + 0.126928 + 1.313262) / 3 = 0.711112.
        fn loss_golden(device) {
            let l = bt_loss(
                t(vec![1., 3., 0.], device),
                t(vec![1., 1., 1.], device),
                None,
                &BtConfig::default(),
            );
            assert_loss(l, 0.711112, 1e-5);
        }
    }

    rlp_core::test_devices! {
        /// With margins (0, 2, −1) the diffs become (0, 0, 0): loss = ln 2. The L2 term with
        /// λ = 0.1 on the same scores adds 0.1/2 · mean(1+1, 9+1, 0+1) = 0.05 · 13/3 = 0.216667.
        fn margin_and_l2_golden(device) {
            let (w, l, m) = (vec![1., 3., 0.], vec![1., 1., 1.], vec![0., 2., -1.]);
            let plain = bt_loss(
                t(w.clone(), device),
                t(l.clone(), device),
                Some(t(m.clone(), device)),
                &BtConfig::default(),
            );
            assert_loss(plain, std::f64::consts::LN_2, 1e-6);
            let with_l2 = bt_loss(
                t(w, device),
                t(l, device),
                Some(t(m, device)),
                &BtConfig { l2: 0.1 },
            );
            assert_loss(with_l2, std::f64::consts::LN_2 + 0.216667, 1e-5);
        }
    }

    rlp_core::test_devices! {
        /// Large score gaps stay finite: −log σ(−100) = 100 (no overflow in exp), −log σ(100) ≈ 0.
        fn extreme_gaps_are_finite(device) {
            let l = bt_loss(
                t(vec![0., 100.], device),
                t(vec![100., 0.], device),
                None,
                &BtConfig::default(),
            );
            assert_loss(l, 50.0, 1e-3);
        }
    }

    #[test]
    fn accuracy_counts_ties_as_half() {
        assert_eq!(pair_accuracy(&[2., 1., 1.], &[1., 2., 1.]), 0.5);
        assert_eq!(pair_accuracy(&[2., 3.], &[1., 2.]), 1.0);
        assert!(pair_accuracy(&[], &[]).is_nan());
    }
}
