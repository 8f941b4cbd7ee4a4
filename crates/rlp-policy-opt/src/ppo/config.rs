//! [`PpoConfig`]: every setting of a PPO run, with the defaults of `docs/algorithms.md` ("Standard
//! RLHF with PPO") where the literature agrees and the choice named where it does not.

use serde::{Deserialize, Serialize};

use super::kl_control::KlControl;
use crate::error::PolicyError;

/// How the learning rate moves over optimiser steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LrSchedule {
    /// `lr` throughout.
    #[default]
    Constant,
    /// Linear warm-up over 5% of `total_steps`, then linear decay to `0.1·lr`
    /// (`rlp_train::optim::warmup_linear_decay`).
    WarmupLinearDecay {
        /// Optimiser steps in the whole run.
        total_steps: usize,
    },
}

/// Where the value model starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueInit {
    /// The reward model's weights and head (AlpacaFarm).
    #[default]
    RewardModel,
    /// The policy's weights and a fresh head.
    Policy,
}

/// PPO's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PpoConfig {
    /// Prompts per iteration (one response each).
    pub rollout_batch_size: usize,
    /// Rows per optimiser step.
    pub mini_batch_size: usize,
    /// Passes over each rollout batch.
    pub ppo_epochs: usize,
    /// GAE's discount γ (1). Configs may still say `gamma` (deprecated).
    #[serde(alias = "gamma")]
    pub gae_gamma: f32,
    /// GAE's λ (0.95). Configs may still say `lambda` (deprecated).
    #[serde(alias = "lambda")]
    pub gae_lambda: f32,
    /// Policy clip ε (0.2).
    pub clip_range: f64,
    /// Value clip ε_v (0.2).
    pub clip_range_value: f64,
    /// Value-loss coefficient c_v (0.1); the value model has its own optimiser, so this scales
    /// its gradient exactly as in `L_pg + c_v·L_vf`.
    pub vf_coef: f64,
    /// The KL coefficient's controller (fixed β = 0.05 by default).
    pub kl: KlControl,
    /// Scale-only reward whitening before GAE (`masked_whiten` without the mean shift).
    pub whiten_rewards: bool,
    /// Whitening of the advantages over the batch (on, as in every reference).
    pub whiten_advantages: bool,
    /// When set, a response cut at `max_new_tokens` without a stop token gets this score
    /// instead of the reward function's (−1 in the N+ implementation details).
    pub missing_eos_penalty: Option<f32>,
    /// Peak learning rate of policy and value model.
    pub lr: f64,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip, for both models (`None`: off; see
    /// `rlp_train::OptimConfig`).
    pub max_grad_norm: Option<f32>,
    /// New tokens per response at most.
    pub max_new_tokens: usize,
    /// Sampling temperature of rollouts.
    pub temperature: f32,
    /// Where the value model starts.
    pub value_init: ValueInit,
    /// Seed of sampling and minibatch order.
    pub seed: u64,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            rollout_batch_size: 64,
            mini_batch_size: 16,
            ppo_epochs: 4,
            gae_gamma: 1.0,
            gae_lambda: 0.95,
            clip_range: 0.2,
            clip_range_value: 0.2,
            vf_coef: 0.1,
            kl: KlControl::default(),
            whiten_rewards: false,
            whiten_advantages: true,
            missing_eos_penalty: None,
            lr: 1e-5,
            lr_schedule: LrSchedule::Constant,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            max_new_tokens: 24,
            temperature: 1.0,
            value_init: ValueInit::RewardModel,
            seed: 0,
        }
    }
}

impl PpoConfig {
    /// Checks every field, naming the first one that cannot be used.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad = |f: &str, m: &str| Err(PolicyError::invalid(f, m));
        if self.rollout_batch_size == 0 {
            return bad("rollout_batch_size", "must be at least 1");
        }
        if self.mini_batch_size == 0 || self.mini_batch_size > self.rollout_batch_size {
            return bad("mini_batch_size", "must be in 1..=rollout_batch_size");
        }
        if self.ppo_epochs == 0 {
            return bad("ppo_epochs", "must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.gae_gamma) || !(0.0..=1.0).contains(&self.gae_lambda) {
            return bad("gamma/lambda", "must be in [0, 1]");
        }
        if !(self.clip_range > 0.0) || !(self.clip_range_value > 0.0) {
            return bad("clip_range", "must be positive");
        }
        if !(self.lr > 0.0) || !self.lr.is_finite() {
            return bad("lr", "must be positive and finite");
        }
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens", "must be at least 1");
        }
        if !(self.temperature > 0.0) {
            return bad("temperature", "must be positive");
        }
        match self.kl {
            KlControl::Fixed { beta } if !(beta >= 0.0) => bad("kl.beta", "must be ≥ 0"),
            KlControl::Adaptive {
                init,
                target,
                horizon,
            } if !(init >= 0.0 && target > 0.0 && horizon > 0.0) => bad(
                "kl",
                "adaptive control needs init ≥ 0, target > 0, horizon > 0",
            ),
            _ => Ok(()),
        }
    }
}
