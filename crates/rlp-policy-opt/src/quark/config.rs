//! [`QuarkConfig`]: every setting of a Quark run (Lu et al., NeurIPS 2022), with its defaults.

use serde::{Deserialize, Serialize};

use crate::error::{PolicyError, Result};

/// Quark's settings (Lu et al., NeurIPS 2022). Defaults: `K = 5` quantiles, KL coefficient β = 0.05 and entropy
/// coefficient α = 0.06 (the paper's values), lr 1e-5 (tiny test models need ~1e-3), no weight
/// decay, gradient norm clipped to 1, minibatches of 32 pool samples, 256 samples per exploration
/// phase, 100 training steps per phase, 24 new tokens per sample, seed 0. Samples are drawn at
/// temperature 1 with no top-k/top-p.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct QuarkConfig {
    /// `K`, the number of reward quantiles and reward tokens (5; at least 2).
    pub num_quantiles: usize,
    /// β, the coefficient of the exact per-token `KL(π(·|r_k, x, y_<t) ‖ π₀(·|x, y_<t))` (0.05).
    /// Configs may still say `beta` (deprecated).
    #[serde(alias = "beta")]
    pub kl_beta: f64,
    /// α, the coefficient of the entropy bonus `H(π(·|r_k, x, y_<t))` (0.06). Configs may still
    /// say `alpha` (deprecated).
    #[serde(alias = "alpha")]
    pub entropy_alpha: f64,
    /// AdamW learning rate (1e-5).
    pub lr: f64,
    /// AdamW decoupled weight decay (0).
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip (1.0; `None`: off; see `rlp_train::OptimConfig`).
    pub max_grad_norm: Option<f32>,
    /// Pool samples per training step (32).
    pub batch_size: usize,
    /// Samples drawn per exploration phase (256), prompts taken round-robin; the first phase
    /// (from π₀) must fill all `K` quantiles, so at least `num_quantiles`.
    pub samples_per_phase: usize,
    /// Training steps per phase in [`QuarkTrainer::phase`](super::QuarkTrainer::phase) (100).
    pub steps_per_phase: usize,
    /// New tokens per sample at most (24).
    pub max_new_tokens: usize,
    /// Seed of the reward-token initialisation, sampling and minibatch order (0).
    pub seed: u64,
}

impl Default for QuarkConfig {
    fn default() -> Self {
        Self {
            num_quantiles: 5,
            kl_beta: 0.05,
            entropy_alpha: 0.06,
            lr: 1e-5,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            batch_size: 32,
            samples_per_phase: 256,
            steps_per_phase: 100,
            max_new_tokens: 24,
            seed: 0,
        }
    }
}

impl QuarkConfig {
    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: String| Err(PolicyError::invalid(field, message));
        if self.num_quantiles < 2 {
            return bad(
                "num_quantiles",
                format!(
                    "{} is below 2 (one quantile conditions on nothing)",
                    self.num_quantiles
                ),
            );
        }
        for (field, value) in [
            ("kl_beta", self.kl_beta),
            ("entropy_alpha", self.entropy_alpha),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return bad(field, format!("{value} is not finite and non-negative"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{} is not positive and finite", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("{} is negative", self.weight_decay));
        }
        if let Some(n) = self.max_grad_norm.filter(|n| !(n.is_finite() && *n > 0.0)) {
            return bad("max_grad_norm", format!("{n} is not positive"));
        }
        for (field, value) in [
            ("batch_size", self.batch_size),
            ("steps_per_phase", self.steps_per_phase),
            ("max_new_tokens", self.max_new_tokens),
        ] {
            if value == 0 {
                return bad(field, "must be at least 1".into());
            }
        }
        if self.samples_per_phase < self.num_quantiles {
            return bad(
                "samples_per_phase",
                format!(
                    "{} cannot fill num_quantiles = {} quantiles",
                    self.samples_per_phase, self.num_quantiles
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() {
        let c = QuarkConfig::default();
        c.validate().unwrap();
        assert_eq!(
            (
                c.num_quantiles,
                c.kl_beta,
                c.entropy_alpha,
                c.max_new_tokens
            ),
            (5, 0.05, 0.06, 24)
        );
        let back: QuarkConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<QuarkConfig>(r#"{"kl_coef": 0.1}"#).is_err());
    }
}
