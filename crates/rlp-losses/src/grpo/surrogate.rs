//! The clipped surrogate of GRPO and RLOO, with its aggregation and importance-sampling
//! variants, and GRPO's `k3` penalty toward the reference.
//!
//! For completion `i` with sequence advantage `A_i` and response token `t`:
//!
//! - the ratio `ρ_{i,t} = exp(log π(y_t) − log π_old(y_t))` ([`ImportanceSampling::Token`]), or,
//!   at sequence level (GSPO, Zheng et al. 2025), the geometric mean of the token ratios
//!   `ρ_i = exp(Σ_t (log π − log π_old) / |y_i|)` for every token of the sequence;
//! - the per-token loss `ℓ_{i,t} = −min(ρ·A_i, clip(ρ, 1 − ε_low, 1 + ε_high)·A_i) + β·k3_{i,t}`,
//!   where `ε_high > ε_low` is DAPO's clip-higher (Yu et al. 2025) and
//!   `k3 = exp(log π_ref − log π) − (log π_ref − log π) − 1` (Schulman's estimator of
//!   `KL(π‖π_ref)`, non-negative, unbiased on samples of π);
//! - the aggregation ([`LossAggregation`]) of `ℓ` over the masked tokens `m`:
//!   `sequence-mean` `(1/B) Σ_i Σ_t m ℓ / Σ_t m` (GRPO as published), `token-mean`
//!   `Σ m ℓ / Σ m` (DAPO), `dr-grpo` `Σ m ℓ / (B·L_max)` with `L_max` the generation budget
//!   (Dr. GRPO, Liu et al. 2025). The first normalises every sequence by its own length, which
//!   Dr. GRPO blames for long wrong answers (a long sequence's tokens each weigh less).

use burn::tensor::Tensor;
use rlp_core::masked::{masked_mean, masked_mean_rows, masked_sum, masked_sum_rows};
use rlp_core::tensor_io::scalar;
use serde::{Deserialize, Serialize};

/// How per-token losses become one number (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossAggregation {
    /// Mean over each sequence's tokens, then over sequences (GRPO).
    SequenceMean,
    /// Sum over all tokens divided by their number (DAPO; TRL's default).
    #[default]
    TokenMean,
    /// Sum over all tokens divided by `B·L_max` (Dr. GRPO).
    DrGrpo,
}

/// Where the importance ratio is taken (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportanceSampling {
    /// One ratio per token (GRPO, PPO).
    #[default]
    Token,
    /// One ratio per sequence, the geometric mean of its tokens' (GSPO).
    Sequence,
}

/// The surrogate's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Surrogate {
    /// `ε_low`: the ratio is clipped below at `1 − ε_low`.
    pub epsilon_low: f64,
    /// `ε_high`: the ratio is clipped above at `1 + ε_high`.
    pub epsilon_high: f64,
    /// The aggregation over tokens.
    pub aggregation: LossAggregation,
    /// Token- or sequence-level ratios.
    pub importance_sampling: ImportanceSampling,
    /// `β` of the `k3` term (0: no term, and no reference log-probs needed).
    pub kl_beta: f64,
    /// `L_max` of the `dr-grpo` aggregation: the generation budget in tokens.
    pub max_len: usize,
}

/// Diagnostics of one surrogate evaluation (host values, over the masked tokens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SurrogateStats {
    /// The loss.
    pub loss: f64,
    /// Share of tokens with `ρ < 1 − ε_low` and `A < 0` (clipped from below).
    pub clip_low: f64,
    /// Share of tokens with `ρ > 1 + ε_high` and `A > 0` (clipped from above).
    pub clip_high: f64,
    /// Mean ratio `ρ`.
    pub ratio: f64,
    /// Mean `k3` against the reference (0 without one).
    pub k3: f64,
}

impl Surrogate {
    /// The number of units this aggregation's loss is a mean over, for a minibatch of `rows`
    /// sequences with `tokens()` unmasked tokens: the tokens for [`LossAggregation::TokenMean`],
    /// the sequences otherwise (Dr. GRPO divides by `B·L_max` with `L_max` fixed). It weighs a
    /// data-parallel shard's loss in the average over the ranks.
    pub fn weight(&self, rows: usize, tokens: impl FnOnce() -> f32) -> f64 {
        match self.aggregation {
            LossAggregation::TokenMean => tokens() as f64,
            LossAggregation::SequenceMean | LossAggregation::DrGrpo => rows as f64,
        }
    }

    /// The loss to minimise (a one-element tensor) and its diagnostics. `logp`, `old_logp`,
    /// `ref_logp` and `mask` are `[B, T]`, `advantages` is `[B]`; only `logp` carries gradient.
    /// `ref_logp` is needed when `kl_beta > 0` and ignored otherwise.
    pub fn loss(
        &self,
        logp: Tensor<2>,
        old_logp: Tensor<2>,
        ref_logp: Option<Tensor<2>>,
        advantages: Tensor<1>,
        mask: Tensor<2>,
    ) -> (Tensor<1>, SurrogateStats) {
        let [b, t] = logp.dims();
        let token_log_ratio = logp.clone() - old_logp;
        let log_ratio = match self.importance_sampling {
            ImportanceSampling::Token => token_log_ratio,
            ImportanceSampling::Sequence => {
                let len = mask.clone().sum_dim(1).squeeze_dim::<1>(1).clamp_min(1.0);
                let mean = masked_sum_rows(token_log_ratio, mask.clone()) / len;
                mean.unsqueeze_dim::<2>(1).repeat_dim(1, t)
            }
        };
        let ratio = log_ratio.exp();
        let adv = advantages.unsqueeze_dim::<2>(1).repeat_dim(1, t);
        let unclipped = ratio.clone() * adv.clone();
        let clipped = ratio
            .clone()
            .clamp(1.0 - self.epsilon_low, 1.0 + self.epsilon_high)
            * adv.clone();
        let mut per_token = unclipped.min_pair(clipped).neg();
        let mut k3_mean = 0.0;
        if self.kl_beta > 0.0
            && let Some(reference) = ref_logp
        {
            let d = reference - logp;
            let k3 = d.clone().exp() - d - 1.0;
            k3_mean = scalar(masked_mean(k3.clone().detach(), mask.clone()));
            per_token = per_token + k3 * self.kl_beta;
        }
        let loss = match self.aggregation {
            LossAggregation::SequenceMean => masked_mean_rows(per_token, mask.clone()).mean(),
            LossAggregation::TokenMean => masked_mean(per_token, mask.clone()),
            LossAggregation::DrGrpo => {
                masked_sum(per_token, mask.clone()) / (b * self.max_len.max(1)) as f32
            }
        };
        let r = ratio.detach();
        let low = r.clone().lower_elem(1.0 - self.epsilon_low).float()
            * adv.clone().lower_elem(0.0).float();
        let high =
            r.clone().greater_elem(1.0 + self.epsilon_high).float() * adv.greater_elem(0.0).float();
        let stats = SurrogateStats {
            loss: scalar(loss.clone().detach()),
            clip_low: scalar(masked_mean(low, mask.clone())),
            clip_high: scalar(masked_mean(high, mask.clone())),
            ratio: scalar(masked_mean(r, mask)),
            k3: k3_mean,
        };
        (loss, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::floats;

    fn surrogate(aggregation: LossAggregation) -> Surrogate {
        Surrogate {
            epsilon_low: 0.2,
            epsilon_high: 0.2,
            aggregation,
            importance_sampling: ImportanceSampling::Token,
            kl_beta: 0.0,
            max_len: 4,
        }
    }

    fn t2(v: &[f32], rows: usize, d: &burn::tensor::Device) -> Tensor<2> {
        floats(v.to_vec(), [rows, v.len() / rows], d)
    }

    /// Golden values of the three aggregations. Two sequences, `T = 3`, `L_max = 4`, ratios 1
    /// (`log π = log π_old`), so `ℓ = −A` on every token: row 1 has A = 1 and 3 tokens, row 2
    /// has A = −2 and 1 token (the rest masked).
    ///
    /// ```python
    /// l = [[-1, -1, -1], [2, 0, 0]]; m = [[1, 1, 1], [1, 0, 0]]
    /// seq_mean = ((-3)/3 + 2/1)/2    # 0.5
    /// tok_mean = (-3 + 2)/4          # -0.25
    /// dr_grpo  = (-3 + 2)/(2*4)      # -0.125
    /// ```
    #[test]
    fn golden_aggregations() {
        let d = test_backend().device().unwrap();
        let logp = t2(&[-1.0, -2.0, -0.5, -1.5, 9.0, 9.0], 2, &d);
        let mask = t2(&[1.0, 1.0, 1.0, 1.0, 0.0, 0.0], 2, &d);
        let adv = floats(vec![1.0, -2.0], [2], &d);
        for (agg, want) in [
            (LossAggregation::SequenceMean, 0.5),
            (LossAggregation::TokenMean, -0.25),
            (LossAggregation::DrGrpo, -0.125),
        ] {
            let (loss, s) =
                surrogate(agg).loss(logp.clone(), logp.clone(), None, adv.clone(), mask.clone());
            assert!((scalar(loss) - want).abs() < 1e-6, "{agg:?}");
            assert_eq!((s.ratio, s.clip_low, s.clip_high), (1.0, 0.0, 0.0));
        }
    }

    /// Clipping at ε_low = 0.2, ε_high = 0.28 (DAPO's values), one token per case, A = ±1:
    /// - A = 1, ρ = 1.2 (inside [0.8, 1.28]): ℓ = −1.2, not clipped;
    /// - A = 1, ρ = 1.5: ℓ = −min(1.5, 1.28) = −1.28, clipped high;
    /// - A = −1, ρ = 0.5: ℓ = −min(−0.5, −0.8) = 0.8, clipped low;
    /// - A = −1, ρ = 1.5: ℓ = −min(−1.5, −1.28) = 1.5, the pessimistic unclipped term (no clip
    ///   counted, the gradient flows);
    /// - A = 1, ρ = 0.5: ℓ = −min(0.5, 0.8) = −0.5, unclipped (no clip counted).
    ///
    /// Token mean: (−1.2 − 1.28 + 0.8 + 1.5 − 0.5)/5 = −0.136; clip_high = clip_low = 1/5.
    #[test]
    fn clipping_at_the_boundaries() {
        let d = test_backend().device().unwrap();
        let ratios = [1.2f32, 1.5, 0.5, 1.5, 0.5];
        let logp = t2(&ratios.map(f32::ln), 5, &d);
        let old = t2(&[0.0; 5], 5, &d);
        let adv = floats(vec![1.0, 1.0, -1.0, -1.0, 1.0], [5], &d);
        let mask = t2(&[1.0; 5], 5, &d);
        let s = Surrogate {
            epsilon_high: 0.28,
            ..surrogate(LossAggregation::TokenMean)
        };
        let (loss, stats) = s.loss(logp, old, None, adv, mask);
        assert!((scalar(loss) + 0.136).abs() < 1e-6);
        assert!((stats.clip_high - 0.2).abs() < 1e-6, "{stats:?}");
        assert!((stats.clip_low - 0.2).abs() < 1e-6, "{stats:?}");
    }

    /// Sequence-level ratios: one row with token log-ratios (ln 2, 0) (and a masked third):
    /// ρ = exp((ln 2 + 0)/2) = √2 = 1.414214 on both tokens. With A = 1 and ε = 0.2 the clip
    /// is active: ℓ = −1.2 per token, token mean −1.2; at token level the tokens would give
    /// −min(2, 1.2) = −1.2 and −1, mean −1.1.
    #[test]
    fn sequence_level_ratio_is_the_geometric_mean() {
        let d = test_backend().device().unwrap();
        let logp = t2(&[2f32.ln(), 0.0, 5.0], 1, &d);
        let old = t2(&[0.0, 0.0, 0.0], 1, &d);
        let mask = t2(&[1.0, 1.0, 0.0], 1, &d);
        let adv = floats(vec![1.0], [1], &d);
        let seq = Surrogate {
            importance_sampling: ImportanceSampling::Sequence,
            ..surrogate(LossAggregation::TokenMean)
        };
        let (loss, s) = seq.loss(logp.clone(), old.clone(), None, adv.clone(), mask.clone());
        assert!((scalar(loss) + 1.2).abs() < 1e-6);
        assert!((s.ratio - 2f64.sqrt()).abs() < 1e-6, "{s:?}");
        let (loss, _) = surrogate(LossAggregation::TokenMean).loss(logp, old, None, adv, mask);
        assert!((scalar(loss) + 1.1).abs() < 1e-6);
    }

    /// The k3 term: log π = (0, 0), log π_ref = (ln 2, 0), A = 0, β = 0.1:
    /// k3 = (2 − ln 2 − 1, 0) = (0.306853, 0); token mean of β·k3 = 0.0153426.
    #[test]
    fn golden_k3_penalty() {
        let d = test_backend().device().unwrap();
        let logp = t2(&[0.0, 0.0], 1, &d);
        let reference = t2(&[2f32.ln(), 0.0], 1, &d);
        let mask = t2(&[1.0, 1.0], 1, &d);
        let s = Surrogate {
            kl_beta: 0.1,
            ..surrogate(LossAggregation::TokenMean)
        };
        let (loss, stats) = s.loss(
            logp.clone(),
            logp,
            Some(reference),
            floats(vec![0.0], [1], &d),
            mask,
        );
        assert!((scalar(loss) - 0.0153426).abs() < 1e-6);
        assert!((stats.k3 - 0.1534264).abs() < 1e-6, "{stats:?}");
    }
}
