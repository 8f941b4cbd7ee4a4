//! The DPO loss (Rafailov et al. 2023, eq. 7), with conservative label smoothing ε (the "cDPO"
//! variant of Mitchell 2023, as TRL's `sigmoid` loss implements it):
//!
//! `L = mean_i [ −(1−ε) · log σ(β Δ_i) − ε · log σ(−β Δ_i) ]`,
//! `Δ_i = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))`,
//!
//! with sequence log-probs summed over the response tokens. `β (log π(y) − log π_ref(y))` is the
//! implicit reward of `y`; `β Δ` is the implicit reward margin.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;
use rlp_core::tensor_io::to_f32;

/// Batch statistics of [`dpo_loss`] (read from the detached values).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DpoLossStats {
    /// Mean implicit reward margin `β Δ`.
    pub margin: f64,
    /// Fraction of pairs with `Δ > 0` (a tie counts as wrong, as in TRL).
    pub accuracy: f64,
    /// Mean implicit reward of the chosen responses `β (log π(y_w) − log π_ref(y_w))`.
    pub chosen_reward: f64,
    /// Mean implicit reward of the rejected responses `β (log π(y_l) − log π_ref(y_l))`.
    pub rejected_reward: f64,
}

impl DpoLossStats {
    /// Replaces each statistic, this data-parallel rank's mean over `pairs` pairs, by the mean
    /// over every rank's pairs (unchanged in one process).
    pub fn average_over_ranks(&mut self, pairs: f64) {
        let mut v = [
            self.margin,
            self.accuracy,
            self.chosen_reward,
            self.rejected_reward,
        ];
        rlp_core::parallel::weighted_mean(&mut v, pairs);
        [
            self.margin,
            self.accuracy,
            self.chosen_reward,
            self.rejected_reward,
        ] = v;
    }
}

/// The DPO loss over a batch of `n` pairs (module docs for the equation): the four inputs are
/// `[n]` sequence log-probs (policy chosen, policy rejected, reference chosen, reference
/// rejected), `beta` is β > 0 and `label_smoothing` is ε ∈ [0, ½) (0: plain DPO). Returns the
/// one-element loss and its statistics. Gradients flow into whichever inputs are tracked.
pub fn dpo_loss(
    policy_chosen_logp: Tensor<1>,
    policy_rejected_logp: Tensor<1>,
    ref_chosen_logp: Tensor<1>,
    ref_rejected_logp: Tensor<1>,
    beta: f64,
    label_smoothing: f64,
) -> (Tensor<1>, DpoLossStats) {
    let chosen = policy_chosen_logp - ref_chosen_logp;
    let rejected = policy_rejected_logp - ref_rejected_logp;
    let logits = (chosen.clone() - rejected.clone()).mul_scalar(beta);
    let mut loss = log_sigmoid(logits.clone())
        .mul_scalar(-(1.0 - label_smoothing))
        .mean();
    if label_smoothing != 0.0 {
        loss = loss
            + log_sigmoid(logits.clone().neg())
                .mul_scalar(-label_smoothing)
                .mean();
    }
    let margins = to_f32(logits.detach());
    let chosen = to_f32(chosen.detach());
    let rejected = to_f32(rejected.detach());
    let mean = |xs: &[f32], scale: f64| {
        xs.iter().map(|&x| x as f64 * scale).sum::<f64>() / xs.len().max(1) as f64
    };
    let stats = DpoLossStats {
        margin: mean(&margins, 1.0),
        accuracy: margins.iter().filter(|&&m| m > 0.0).count() as f64 / margins.len().max(1) as f64,
        chosen_reward: mean(&chosen, beta),
        rejected_reward: mean(&rejected, beta),
    };
    (loss, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{TensorData, Tolerance};
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::floats;

    fn t(v: Vec<f32>, d: &burn::tensor::Device) -> Tensor<1> {
        let n = v.len();
        floats(v, [n], d)
    }

    // Golden values, derived by hand with β = 0.5:
    // - pair A: π(y_w) = −1, π(y_l) = −3, π_ref(y_w) = π_ref(y_l) = −2, so
    //   Δ = (−1 + 2) − (−3 + 2) = 2 and βΔ = 1; −log σ(1) = ln(1 + e⁻¹) = 0.3132617;
    // - pair B: all four −1, so Δ = 0 and −log σ(0) = ln 2 = 0.6931472 (for any ε, since
    //   −(1−ε)·log ½ − ε·log ½ = ln 2);
    // - ε = 0: loss = (0.3132617 + 0.6931472) / 2 = 0.5032044;
    // - ε = 0.1: pair A gives 0.9·ln(1 + e⁻¹) + 0.1·ln(1 + e¹) = ln(1 + e⁻¹) + 0.1·1
    //   (as ln(1 + eˣ) = x + ln(1 + e⁻ˣ)) = 0.4132617; loss = (0.4132617 + 0.6931472) / 2
    //   = 0.5532044;
    // - margin = (1 + 0) / 2 = 0.5; accuracy = ½ (a tie is not a win); chosen reward
    //   = (0.5·1 + 0) / 2 = 0.25; rejected reward = (0.5·(−1) + 0) / 2 = −0.25.
    rlp_core::test_devices! {
        /// The golden values above, on every compiled backend.
        fn golden_loss_and_stats(d) {
            let run = |eps: f64| {
                dpo_loss(
                    t(vec![-1.0, -1.0], d),
                    t(vec![-3.0, -1.0], d),
                    t(vec![-2.0, -1.0], d),
                    t(vec![-2.0, -1.0], d),
                    0.5,
                    eps,
                )
            };
            let tol = Tolerance::<f32>::absolute(1e-6);
            let (loss, s) = run(0.0);
            loss.into_data().assert_approx_eq(&TensorData::from([0.5032044f32]), tol);
            assert!((s.margin - 0.5).abs() < 1e-7 && s.accuracy == 0.5);
            assert!((s.chosen_reward - 0.25).abs() < 1e-7 && (s.rejected_reward + 0.25).abs() < 1e-7);
            let (loss, _) = run(0.1);
            loss.into_data().assert_approx_eq(&TensorData::from([0.5532044f32]), tol);
        }
    }

    /// At Δ = 0 with ε = 0: ∂L/∂log π(y_w) = −β·σ(−βΔ)/n = −β/2 for n = 1, and the rejected
    /// side gets +β/2. With β = 0.1: ∓0.05.
    #[test]
    fn gradient_at_zero_margin() {
        let d = test_backend().device().unwrap().autodiff();
        let pc = t(vec![-2.0], &d).require_grad();
        let pr = t(vec![-2.0], &d).require_grad();
        let (loss, _) = dpo_loss(
            pc.clone(),
            pr.clone(),
            t(vec![-2.0], &d),
            t(vec![-2.0], &d),
            0.1,
            0.0,
        );
        let g = loss.backward();
        let gc = to_f32(pc.grad(&g).unwrap())[0];
        let gr = to_f32(pr.grad(&g).unwrap())[0];
        assert!(
            (gc + 0.05).abs() < 1e-7 && (gr - 0.05).abs() < 1e-7,
            "{gc} {gr}"
        );
    }
}
