//! The multi-view objective `L_M` (`docs/algorithms.md`, "RLP: Reward Learning on Policy") and the ablations the
//! RLP paper compares (Lang et al. 2024, Table 4: InfoMax 44.4, MVI 48.1, contrastive 48.2,
//! MIB 49.1), plus the schedule of `β` on the SKL term.
//!
//! With `z₁ ~ p(z|v₁)`, `z₂ ~ p(z|v₂)` the reparameterised codes of two policy responses to one
//! prompt and `h₁`, `h₂` the reward model's representations they are encoded from:
//!
//! | objective | `L_M` |
//! |---|---|
//! | `mib` (default) | `−I_JS(z₁; z₂) + β·D_SKL` (Federici et al. 2020, eq. 8; RLP eq. 6) |
//! | `mvi` | `−I_JS(z₁; z₂)`: multi-view InfoMax, the same without the SKL term |
//! | `contrastive` | `−I_NCE(z₁; z₂)`: InfoNCE with in-batch negatives, no SKL term |
//! | `infomax` | `−½·[I_JS(h₁; z₁) + I_JS(h₂; z₂)]`: single-view InfoMax, each view alone |
//! | `mib-dts` | `mib` + `β_tc·TC + β_dw·Σ_k KL_k − γ_mi·I_q(x; z)` on both views' codes ([`crate::dts`], [`DtsWeights`]) |
//!
//! Readings of what the paper leaves open:
//! - **InfoMax** is the single-view baseline of Federici et al. (Hjelm et al.'s Deep InfoMax):
//!   maximise the information the code keeps about its own input. Here the input is the reward
//!   model's representation `h` (RLP's encoder sees nothing else), so the critic reads `[h; z]`;
//!   negatives roll `h` within the batch. Both views are used, each as its own example, with
//!   one shared critic; no term links the views.
//! - **Contrastive** keeps no SKL term. "Contrastive" in the multi-view literature (CPC, CMC,
//!   SimCLR) names a loss that only maximises agreement between views; keeping `D_SKL` would
//!   make it MIB with another estimator. Without it the ablation differs from `mvi` in the
//!   estimator alone (InfoNCE for JS), which is the comparison the paper's numbers (48.2 vs 48.1)
//!   read as.
//!
//! `D_SKL` is computed (and reported) for every objective; only `mib` and `mib-dts` add it to
//! the loss. The DTS terms of `mib-dts` need the data-set size, so [`crate::IbHead::loss`] adds
//! them.

use burn::tensor::Tensor;

use crate::encoder::Gaussian;
use crate::error::{IbError, Result};
use crate::mi::{Critic, infonce_mi, js_mi};
use crate::skl::sample_skl;

/// Which multi-view loss to add to the Bradley–Terry loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Multi-view information bottleneck: `−I_JS(z₁; z₂) + β·D_SKL` (RLP-UML).
    #[default]
    Mib,
    /// Single-view InfoMax: `−½·[I_JS(h₁; z₁) + I_JS(h₂; z₂)]`.
    Infomax,
    /// Multi-view InfoMax: `−I_JS(z₁; z₂)`.
    Mvi,
    /// Contrastive: `−I_NCE(z₁; z₂)`.
    Contrastive,
    /// `mib` plus DTS's terms against the code's collapse (total correlation, dimension-wise KL,
    /// information between input and code), weighted by [`DtsWeights`].
    MibDts,
}

/// The weights of DTS's terms in `objective = "mib-dts"` (`[uml.dts]`):
/// `L_M' = L_M + β_tc·TC + β_dw·Σ_k KL_k − γ_mi·I_q(x; z)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DtsWeights {
    /// `β_tc`, the weight of the total correlation.
    pub beta_tc: f64,
    /// `β_dw`, the weight of the dimension-wise KL to the prior.
    pub beta_dw: f64,
    /// `γ_mi`, the weight of the information between input and code (maximised).
    pub gamma_mi: f64,
    /// Dimensions per code segment of the total correlation (1: per dimension; it must divide
    /// `z_dim`).
    pub segment: usize,
}

impl Default for DtsWeights {
    /// All three weights 1 and the TC per dimension: a starting point, not a tuned setting.
    fn default() -> Self {
        Self {
            beta_tc: 1.0,
            beta_dw: 1.0,
            gamma_mi: 1.0,
            segment: 1,
        }
    }
}

impl DtsWeights {
    /// Checks the weights (finite, ≥ 0) and that `segment` divides `z_dim`.
    pub fn validate(&self, z_dim: usize) -> Result<()> {
        for (field, v) in [
            ("dts.beta_tc", self.beta_tc),
            ("dts.beta_dw", self.beta_dw),
            ("dts.gamma_mi", self.gamma_mi),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(IbError::invalid(
                    field,
                    format!("{v} is not finite and ≥ 0"),
                ));
            }
        }
        if self.segment == 0 || z_dim % self.segment != 0 {
            return Err(IbError::invalid(
                "dts.segment",
                format!("{} does not divide z_dim = {z_dim}", self.segment),
            ));
        }
        Ok(())
    }
}

/// One view's pass through the encoder: the representation, its posterior and a sample.
#[derive(Debug, Clone)]
pub struct ViewCode {
    /// `h` `[B, d]`: the reward model's final-layer representation.
    pub h: Tensor<2>,
    /// `p(z|h)`.
    pub posterior: Gaussian,
    /// `z ~ p(z|h)` `[B, z_dim]`, reparameterised.
    pub z: Tensor<2>,
}

/// `L_M` and its parts, as one-element tensors.
#[derive(Debug, Clone)]
pub struct LossTerms {
    /// `L_M` (to be minimised).
    pub loss: Tensor<1>,
    /// The mutual-information estimate the objective maximises (for `infomax`, the mean of the
    /// two views').
    pub mi: Tensor<1>,
    /// The sample estimate of `D_SKL` (added to the loss only for `mib`).
    pub skl: Tensor<1>,
}

impl Objective {
    /// Whether `β·D_SKL` is part of the loss.
    pub fn uses_skl(self) -> bool {
        matches!(self, Self::Mib | Self::MibDts)
    }

    /// The widths `(d_a, d_b)` of the critic's two inputs for representations `d` wide and codes
    /// `z_dim` wide: `[h; z]` for `infomax`, `[z₁; z₂]` otherwise.
    pub fn critic_inputs(self, d: usize, z_dim: usize) -> (usize, usize) {
        match self {
            Self::Infomax => (d, z_dim),
            _ => (z_dim, z_dim),
        }
    }

    /// `L_M` of the module docs on a batch of `B ≥ 2` view pairs with SKL weight `beta`.
    pub fn loss(self, critic: &Critic, v1: &ViewCode, v2: &ViewCode, beta: f64) -> LossTerms {
        let skl = sample_skl(&v1.posterior, &v2.posterior, v1.z.clone(), v2.z.clone());
        let mi = match self {
            Self::Mib | Self::MibDts | Self::Mvi => js_mi(critic, v1.z.clone(), v2.z.clone()),
            Self::Contrastive => infonce_mi(critic, v1.z.clone(), v2.z.clone()),
            Self::Infomax => {
                (js_mi(critic, v1.h.clone(), v1.z.clone())
                    + js_mi(critic, v2.h.clone(), v2.z.clone()))
                    * 0.5
            }
        };
        let mut loss = mi.clone().neg();
        if self.uses_skl() {
            loss = loss + skl.clone() * beta;
        }
        LossTerms { loss, mi, skl }
    }
}

/// The weight `β` of `D_SKL` over optimiser steps.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BetaSchedule {
    /// `β = value` throughout.
    Constant {
        /// The weight (≥ 0).
        value: f64,
    },
    /// Geometric interpolation from `start` to `end`: `β = start` up to step `delay`, then
    /// `start·(end/start)^((t − delay)/steps)`, then `end` — linear in `log β`, the shape of
    /// the `ExponentialScheduler` in Federici et al.'s MIB code (`utils/schedulers.py`, there
    /// 1e-3 → 1 over 100 000 iterations after a delay of 50 000).
    Exponential {
        /// `β` at the start (> 0).
        start: f64,
        /// `β` at the end (> 0).
        end: f64,
        /// Steps the ramp takes (`None`: from `delay` to the run's last step).
        #[serde(default)]
        steps: Option<usize>,
        /// Steps at `start` before the ramp.
        #[serde(default)]
        delay: usize,
    },
}

impl Default for BetaSchedule {
    /// 1e-3 → 1 over the whole run, at once: RLP's retraining is a single short pass, too short
    /// for the reference's 50 000-step delay.
    fn default() -> Self {
        Self::Exponential {
            start: 1e-3,
            end: 1.0,
            steps: None,
            delay: 0,
        }
    }
}

impl BetaSchedule {
    /// `β` at 0-based optimiser `step` of a run of `total` steps.
    pub fn at(&self, step: usize, total: usize) -> f64 {
        match *self {
            Self::Constant { value } => value,
            Self::Exponential {
                start,
                end,
                steps,
                delay,
            } => {
                let ramp = steps
                    .unwrap_or_else(|| total.saturating_sub(delay + 1))
                    .max(1);
                let frac = (step.saturating_sub(delay) as f64 / ramp as f64).min(1.0);
                start * (end / start).powf(frac)
            }
        }
    }

    /// Checks the schedule's numbers; `field` is the schedule's name in its config.
    pub fn validate(&self, field: &str) -> Result<()> {
        let bad = |f: &str, m: String| Err(IbError::invalid(&format!("{field}.{f}"), m));
        match *self {
            Self::Constant { value } if !(value.is_finite() && value >= 0.0) => {
                bad("value", format!("{value} is not finite and ≥ 0"))
            }
            Self::Exponential { start, .. } if !(start.is_finite() && start > 0.0) => {
                bad("start", format!("{start} is not finite and > 0"))
            }
            Self::Exponential { end, .. } if !(end.is_finite() && end > 0.0) => {
                bad("end", format!("{end} is not finite and > 0"))
            }
            Self::Exponential { steps: Some(0), .. } => bad("steps", "must be positive".into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1e-3 → 1 over 4 steps after a delay of 2: steps 0..=2 give 1e-3, step 3 gives
    /// 1e-3·1000^(1/4) = 10^(−3 + 0.75) = 10^(−2.25) = 0.0056234, step 4 gives 10^(−1.5) =
    /// 0.0316228, step 6 and later give 1. Without `steps`, a 5-step run ramps over steps 0..=4
    /// (step 2 is halfway: 10^(−1.5)).
    #[test]
    fn exponential_schedule_golden() {
        let s = BetaSchedule::Exponential {
            start: 1e-3,
            end: 1.0,
            steps: Some(4),
            delay: 2,
        };
        for (t, want) in [
            (0, 1e-3),
            (2, 1e-3),
            (3, 0.0056234),
            (4, 0.0316228),
            (6, 1.0),
            (100, 1.0),
        ] {
            assert!(
                (s.at(t, 10) - want).abs() < 1e-6,
                "step {t}: {}",
                s.at(t, 10)
            );
        }
        let whole = BetaSchedule::default();
        assert!((whole.at(0, 5) - 1e-3).abs() < 1e-12);
        assert!((whole.at(2, 5) - 0.0316228).abs() < 1e-6);
        assert!((whole.at(4, 5) - 1.0).abs() < 1e-12);
        assert_eq!(BetaSchedule::Constant { value: 0.3 }.at(7, 10), 0.3);
    }

    #[test]
    fn schedules_parse_and_validate() {
        let s: BetaSchedule =
            serde_json::from_str(r#"{"kind": "exponential", "start": 0.01, "end": 2}"#).unwrap();
        assert_eq!(
            s,
            BetaSchedule::Exponential {
                start: 0.01,
                end: 2.0,
                steps: None,
                delay: 0
            }
        );
        let c: BetaSchedule = serde_json::from_str(r#"{"kind": "constant", "value": 1}"#).unwrap();
        assert_eq!(c, BetaSchedule::Constant { value: 1.0 });
        let e = serde_json::from_str::<BetaSchedule>(r#"{"kind": "constant", "valu": 1}"#);
        assert!(e.is_err());
        let o: Objective = serde_json::from_str(r#""contrastive""#).unwrap();
        assert_eq!(o, Objective::Contrastive);
        let err = BetaSchedule::Exponential {
            start: 0.0,
            end: 1.0,
            steps: None,
            delay: 0,
        }
        .validate("beta")
        .unwrap_err();
        assert!(err.to_string().contains("`beta.start`"), "{err}");
        let err = BetaSchedule::Constant { value: f64::NAN }
            .validate("beta")
            .unwrap_err();
        assert!(err.to_string().contains("`beta.value`"), "{err}");
    }
}
