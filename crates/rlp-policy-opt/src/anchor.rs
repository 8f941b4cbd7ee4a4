//! KL anchors: the reference model `π_ref` of PPO's per-token penalty
//! `r_t = −β (log π(y_t|s_t) − log π_ref(y_t|s_t))` (`docs/algorithms.md`).
//!
//! - [`FrozenAnchor`]: the initial (SFT) model, the standard choice;
//! - [`EmaAnchor`]: an exponential moving average of the policy, `θ̄ ← η θ̄ + (1−η) θ` after every
//!   iteration (Elastic Reset, η = 0.995), reset to the initial model with [`Anchor::reset_to`];
//! - [`SoupAnchor`]: a weight soup `α θ_1 + (1−α) θ_2` of two SFT models (SALSA, α = 0.5).
//!
//! Every anchor keeps its model on the plain (non-autodiff) device (`Module::valid`), so its
//! log-probs never enter the policy's autodiff graph.

use burn::module::Module;
use rlp_models::CausalLm;
use rlp_train::soup::{ema_update, weighted_average};

use crate::error::{PolicyError, Result};

/// Elastic Reset's EMA decay η (`θ̄ ← η θ̄ + (1−η) θ`).
pub const DEFAULT_EMA_ETA: f64 = 0.995;

/// SALSA's soup weight α of the first model (`α θ_1 + (1−α) θ_2`).
pub const DEFAULT_SOUP_ALPHA: f64 = 0.5;

/// What the KL penalty is measured against (`docs/algorithms.md`: PPO, Elastic Reset, SALSA).
pub trait Anchor: Send {
    /// A short name for logs ("initial", "ema(0.995)", "soup(0.5,0.5)").
    fn name(&self) -> String;
    /// The reference model, on the plain (non-autodiff) device, whose log-probs the KL penalty uses.
    fn model(&self) -> &CausalLm;
    /// Called once after every PPO iteration with the current policy (EMA: θ̄ ← ηθ̄ + (1−η)θ; others: nothing).
    fn after_iteration(&mut self, policy: &CausalLm);
    /// Replaces the anchor's weights (Elastic Reset sets the EMA back to the initial model).
    fn reset_to(&mut self, model: &CausalLm);
}

/// The frozen initial model: [`Anchor::after_iteration`] does nothing.
#[derive(Debug, Clone)]
pub struct FrozenAnchor {
    model: CausalLm,
}

impl FrozenAnchor {
    /// Anchors at `model` (copied to its plain device).
    pub fn new(model: &CausalLm) -> Self {
        Self {
            model: model.valid(),
        }
    }
}

impl Anchor for FrozenAnchor {
    fn name(&self) -> String {
        "initial".into()
    }

    fn model(&self) -> &CausalLm {
        &self.model
    }

    fn after_iteration(&mut self, _policy: &CausalLm) {}

    fn reset_to(&mut self, model: &CausalLm) {
        self.model = model.valid();
    }
}

/// An EMA of the policy, `θ̄ ← η θ̄ + (1−η) θ` after every iteration (Elastic Reset).
#[derive(Debug, Clone)]
pub struct EmaAnchor {
    model: CausalLm,
    eta: f64,
}

impl EmaAnchor {
    /// Starts the EMA at `initial` (copied to its plain device) with decay `eta`
    /// ([`DEFAULT_EMA_ETA`] in the paper); `eta` must lie in `[0, 1]`.
    pub fn new(initial: &CausalLm, eta: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&eta) {
            return Err(PolicyError::invalid(
                "eta",
                format!("{eta} is not in [0, 1]"),
            ));
        }
        Ok(Self {
            model: initial.valid(),
            eta,
        })
    }

    /// The decay η.
    pub fn eta(&self) -> f64 {
        self.eta
    }
}

impl Anchor for EmaAnchor {
    fn name(&self) -> String {
        format!("ema({})", self.eta)
    }

    fn model(&self) -> &CausalLm {
        &self.model
    }

    /// `θ̄ ← η θ̄ + (1−η) θ`; `policy` may live on the autodiff device.
    ///
    /// # Panics
    /// When `policy` has a different architecture from the EMA (a programming error).
    fn after_iteration(&mut self, policy: &CausalLm) {
        self.model = ema_update(self.model.clone(), policy, self.eta);
    }

    fn reset_to(&mut self, model: &CausalLm) {
        self.model = model.valid();
    }
}

/// A weight soup `Σ_i w_i θ_i` of models with the same architecture (SALSA: two SFT models
/// trained with different seeds, `w = (α, 1−α)`, α = [`DEFAULT_SOUP_ALPHA`]).
#[derive(Debug, Clone)]
pub struct SoupAnchor {
    model: CausalLm,
    weights: Vec<f64>,
}

impl SoupAnchor {
    /// The soup of `models` with `weights` summing to 1 (errors as
    /// [`weighted_average`] reports them: empty input, count mismatch, bad sum, differing
    /// configurations).
    pub fn new(models: &[&CausalLm], weights: &[f64]) -> Result<Self> {
        let soup = weighted_average(models, weights)?;
        Ok(Self {
            model: soup.valid(),
            weights: weights.to_vec(),
        })
    }

    /// SALSA's two-model soup `α θ_1 + (1−α) θ_2`, `α ∈ [0, 1]`.
    pub fn salsa(first: &CausalLm, second: &CausalLm, alpha: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&alpha) {
            return Err(PolicyError::invalid(
                "alpha",
                format!("{alpha} is not in [0, 1]"),
            ));
        }
        Self::new(&[first, second], &[alpha, 1.0 - alpha])
    }

    /// The soup weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
}

impl Anchor for SoupAnchor {
    fn name(&self) -> String {
        let w: Vec<String> = self.weights.iter().map(|w| w.to_string()).collect();
        format!("soup({})", w.join(","))
    }

    fn model(&self) -> &CausalLm {
        &self.model
    }

    fn after_iteration(&mut self, _policy: &CausalLm) {}

    fn reset_to(&mut self, model: &CausalLm) {
        self.model = model.valid();
    }
}
