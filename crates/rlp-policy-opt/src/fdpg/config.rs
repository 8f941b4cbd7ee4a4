//! [`FdpgConfig`]: every setting of an f-DPG run, with its defaults.

use serde::{Deserialize, Serialize};

use super::divergence::Divergence;
use crate::error::{PolicyError, Result};

/// Where f-DPG's samples come from (the proposal `q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Proposal {
    /// `q = π`: sample from the current policy (importance weights `π/q = 1`).
    #[default]
    Online,
    /// `q` a frozen model, at first the initial model `a`; samples are reweighted by `π/q`.
    Offline {
        /// DPG's rule: after a step, when the batch's IS estimate of `KL(p‖π)` is below that of
        /// `KL(p‖q)`, the proposal becomes the policy as it was for that batch.
        update: bool,
    },
}

/// f-DPG's settings (Go et al., ICML 2023). Defaults: Jensen–Shannon, β = 0.1, lr 1e-5 (tiny
/// test models need ~1e-3), 32 samples per step, 24 new tokens, a baseline over the last 100
/// pseudo-rewards, `log t` clipped to ±10, online proposal, no clipping of the `Ẑ` weights, one
/// `Ẑ` shared by all prompts. Samples are always drawn at temperature 1 with no top-k/top-p,
/// so the proposal's log-probs are those of the model itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FdpgConfig {
    /// Which `D_f(π‖p)` to minimise (Jensen–Shannon).
    pub divergence: Divergence,
    /// β of the RLHF target `P = a·exp(r/β)`, the KL-regularised optimum (0.1; unused by a
    /// pointwise target). Configs may still say `beta` (deprecated).
    #[serde(alias = "beta")]
    pub kl_beta: f64,
    /// AdamW learning rate (1e-5).
    pub lr: f64,
    /// AdamW decoupled weight decay (0).
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip (1.0; `None`: off; see `rlp_train::OptimConfig`).
    pub max_grad_norm: Option<f32>,
    /// Samples per step (32); the step's prompts are used round-robin, so passing `k` prompts
    /// gives each about `batch_size / k` samples.
    pub batch_size: usize,
    /// New tokens per sample at most (24).
    pub max_new_tokens: usize,
    /// The baseline is the mean of the last this many pseudo-rewards (100; 0: no baseline).
    pub baseline_window: usize,
    /// `log t = log(π/p)` is clipped to `[−c, c]` before `f′` (10), so that `t = 0` and `t = ∞`
    /// (a constraint violation) give finite pseudo-rewards (`divergence` module docs).
    pub log_ratio_clip: f64,
    /// Cap `c > 0` on each importance weight `P/q` added to `Ẑ` (`None`, the default: unbiased).
    pub z_weight_clip: Option<f64>,
    /// One cumulative `Ẑ(x)` per prompt string (the conditional target `p(y|x) = P(x, y)/Z(x)`)
    /// instead of one shared by all prompts (false). Needs several samples per prompt and step.
    pub z_per_prompt: bool,
    /// Where samples come from (online).
    pub proposal: Proposal,
    /// Seed of sampling (0).
    pub seed: u64,
}

impl Default for FdpgConfig {
    fn default() -> Self {
        Self {
            divergence: Divergence::JensenShannon,
            kl_beta: 0.1,
            lr: 1e-5,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            batch_size: 32,
            max_new_tokens: 24,
            baseline_window: 100,
            log_ratio_clip: 10.0,
            z_weight_clip: None,
            z_per_prompt: false,
            proposal: Proposal::Online,
            seed: 0,
        }
    }
}

impl FdpgConfig {
    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: String| Err(PolicyError::invalid(field, message));
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.kl_beta) {
            return bad(
                "kl_beta",
                format!("{} is not positive and finite", self.kl_beta),
            );
        }
        if !positive(self.lr) {
            return bad("lr", format!("{} is not positive and finite", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("{} is negative", self.weight_decay));
        }
        if let Some(n) = self.max_grad_norm.filter(|n| !(n.is_finite() && *n > 0.0)) {
            return bad("max_grad_norm", format!("{n} is not positive"));
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens", "must be at least 1".into());
        }
        if !positive(self.log_ratio_clip) {
            return bad(
                "log_ratio_clip",
                format!("{} is not positive and finite", self.log_ratio_clip),
            );
        }
        if let Some(c) = self.z_weight_clip.filter(|&c| !positive(c)) {
            return bad("z_weight_clip", format!("{c} is not positive and finite"));
        }
        Ok(())
    }

    /// Whether samples come from the policy itself.
    pub fn is_online(&self) -> bool {
        self.proposal == Proposal::Online
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() {
        let c = FdpgConfig::default();
        c.validate().unwrap();
        let back: FdpgConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let offline: FdpgConfig = serde_json::from_str(
            r#"{"divergence": "reverse-kl", "proposal": {"kind": "offline", "update": true}}"#,
        )
        .unwrap();
        assert_eq!(offline.proposal, Proposal::Offline { update: true });
        assert_eq!(offline.divergence, Divergence::ReverseKl);
        assert!(serde_json::from_str::<FdpgConfig>(r#"{"temperature": 0.7}"#).is_err());
    }
}
