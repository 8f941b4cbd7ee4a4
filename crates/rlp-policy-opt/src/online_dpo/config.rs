//! [`OnlineDpoConfig`], the settings of online DPO.

use rlp_core::With;
use rlp_models::GenerationConfig;
use rlp_train::OptimConfig;
use serde::{Deserialize, Serialize};

use crate::error::{PolicyError, Result};

/// Online DPO's settings (Guo et al. 2024, "Direct Language Model Alignment from Online AI
/// Feedback"; TRL's `OnlineDPOTrainer`): β = 0.1 as in TRL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OnlineDpoConfig {
    /// Prompts per step (two samples each, one pair).
    pub prompts_per_step: usize,
    /// DPO's `β`, the strength of the implicit KL to the reference (the starting policy).
    pub kl_beta: f64,
    /// Conservative label smoothing `ε ∈ [0, ½)` (0: plain DPO).
    pub label_smoothing: f64,
    /// Learning rate (constant).
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip (`None`: off).
    pub max_grad_norm: Option<f32>,
    /// New tokens per sample at most.
    pub max_new_tokens: usize,
    /// Sampling temperature.
    pub temperature: f32,
    /// When set, a sample cut at `max_new_tokens` without a stop token gets this score instead
    /// of the reward's (TRL's `missing_eos_penalty` subtracts; here it replaces, as in PPO).
    pub missing_eos_penalty: Option<f32>,
    /// Seed of sampling.
    pub seed: u64,
}

impl Default for OnlineDpoConfig {
    fn default() -> Self {
        Self {
            prompts_per_step: 16,
            kl_beta: 0.1,
            label_smoothing: 0.0,
            lr: 1e-5,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            max_new_tokens: 24,
            temperature: 1.0,
            missing_eos_penalty: None,
            seed: 0,
        }
    }
}

impl OnlineDpoConfig {
    /// Checks every field, naming the first one that cannot be used.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, m: &str| Err(PolicyError::invalid(f, m));
        if self.prompts_per_step == 0 {
            return bad("prompts_per_step", "must be at least 1");
        }
        if !(self.kl_beta > 0.0 && self.kl_beta.is_finite()) {
            return bad("kl_beta", "must be positive and finite");
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return bad("label_smoothing", "must be in [0, 0.5)");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", "must be positive and finite");
        }
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens", "must be at least 1");
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad("temperature", "must be positive and finite");
        }
        if let Some(p) = self.missing_eos_penalty
            && !p.is_finite()
        {
            return bad("missing_eos_penalty", "must be finite");
        }
        Ok(())
    }

    /// The optimiser's settings.
    pub fn optim(&self) -> OptimConfig {
        OptimConfig::default().with(|c| {
            c.lr = self.lr;
            c.weight_decay = self.weight_decay;
            c.max_grad_norm = self.max_grad_norm;
        })
    }

    /// The sampling settings.
    pub fn generation(&self) -> GenerationConfig {
        GenerationConfig::sampling(self.max_new_tokens, self.temperature)
    }
}
