//! [`RlooConfig`], the settings of an RLOO run (Ahmadian et al. 2024), which the shared
//! [`GroupTrainer`](crate::grpo::GroupTrainer) runs with the leave-one-out advantage.

use rlp_core::With;
use rlp_models::GenerationConfig;
use rlp_train::OptimConfig;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::grpo::config::check_common;
use crate::grpo::{
    AdvantageRule, GroupSettings, ImportanceSampling, KlPenalty, LossAggregation, Surrogate,
};

/// RLOO's settings. The defaults are the classic method: the KL to the frozen starting policy
/// as a sequence penalty on the reward (β = 0.05), one pass per batch (so the clip never acts
/// and the update is REINFORCE with the leave-one-out baseline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RlooConfig {
    /// Prompts per generation batch.
    pub prompts_per_step: usize,
    /// `k`, samples per prompt (at least 2).
    pub k: usize,
    /// Optimisation passes over each generation batch.
    pub num_iterations: usize,
    /// Samples per optimiser step (the batch is `prompts_per_step × k`).
    pub mini_batch_size: usize,
    /// Ratios are clipped below at `1 − ε_low`.
    pub epsilon_low: f64,
    /// Ratios are clipped above at `1 + ε_high` (unset: `ε_low`).
    pub epsilon_high: Option<f64>,
    /// `β` of the KL to the starting policy (0: none).
    pub kl_beta: f64,
    /// Where the KL enters: `reward` (`r − β·KL_seq`, classic RLOO) or `loss` (GRPO's `k3`).
    pub kl_penalty: KlPenalty,
    /// `sequence-mean`, `token-mean` or `dr-grpo`.
    pub loss_aggregation: LossAggregation,
    /// `token` or `sequence` ratios.
    pub importance_sampling: ImportanceSampling,
    /// Leave truncated samples out of the loss.
    pub mask_truncated: bool,
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
    /// Seed of sampling and minibatch order.
    pub seed: u64,
}

impl Default for RlooConfig {
    fn default() -> Self {
        Self {
            prompts_per_step: 8,
            k: 4,
            num_iterations: 1,
            mini_batch_size: 32,
            epsilon_low: 0.2,
            epsilon_high: None,
            kl_beta: 0.05,
            kl_penalty: KlPenalty::Reward,
            loss_aggregation: LossAggregation::TokenMean,
            importance_sampling: ImportanceSampling::Token,
            mask_truncated: false,
            lr: 1e-5,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            max_new_tokens: 24,
            temperature: 1.0,
            seed: 0,
        }
    }
}

impl RlooConfig {
    /// Checks every field, naming the first one that cannot be used.
    pub fn validate(&self) -> Result<()> {
        check_common(
            ("k", self.k),
            self.prompts_per_step,
            self.num_iterations,
            self.mini_batch_size,
            self.epsilon_low,
            self.epsilon_high,
            self.kl_beta,
            self.lr,
            self.max_new_tokens,
            self.temperature,
        )
    }

    /// The trainer's settings (checked).
    pub fn settings(&self) -> Result<GroupSettings> {
        self.validate()?;
        let in_loss = self.kl_penalty == KlPenalty::Loss;
        Ok(GroupSettings {
            advantage: AdvantageRule::LeaveOneOut,
            kl_penalty: self.kl_penalty,
            kl_beta: self.kl_beta,
            prompts_per_step: self.prompts_per_step,
            group_size: self.k,
            num_iterations: self.num_iterations,
            mini_batch_size: self.mini_batch_size,
            surrogate: Surrogate {
                epsilon_low: self.epsilon_low,
                epsilon_high: self.epsilon_high.unwrap_or(self.epsilon_low),
                aggregation: self.loss_aggregation,
                importance_sampling: self.importance_sampling,
                kl_beta: if in_loss { self.kl_beta } else { 0.0 },
                max_len: self.max_new_tokens,
            },
            mask_truncated: self.mask_truncated,
            optim: OptimConfig::default().with(|c| {
                c.lr = self.lr;
                c.weight_decay = self.weight_decay;
                c.max_grad_norm = self.max_grad_norm;
            }),
            generation: GenerationConfig::sampling(self.max_new_tokens, self.temperature),
            seed: self.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kl_goes_where_the_config_says() {
        let s = RlooConfig::default().settings().unwrap();
        assert_eq!(s.advantage, AdvantageRule::LeaveOneOut);
        assert_eq!((s.kl_beta, s.surrogate.kl_beta), (0.05, 0.0));
        assert!(s.needs_reference());
        let s = RlooConfig {
            kl_penalty: KlPenalty::Loss,
            ..Default::default()
        }
        .settings()
        .unwrap();
        assert_eq!(s.surrogate.kl_beta, 0.05);
        let e = RlooConfig {
            k: 1,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains('k'), "{e}");
    }
}
