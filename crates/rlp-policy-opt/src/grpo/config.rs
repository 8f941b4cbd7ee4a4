//! [`GrpoConfig`], the settings of a GRPO run, and [`GroupSettings`], what the shared
//! [`GroupTrainer`](super::GroupTrainer) runs on (GRPO's and RLOO's configs both become one).

use rlp_core::With;
use rlp_models::GenerationConfig;
use rlp_train::OptimConfig;
use serde::{Deserialize, Serialize};

use super::advantages::Scale;
use super::surrogate::{ImportanceSampling, LossAggregation, Surrogate};
use crate::error::{PolicyError, Result};

/// GRPO's settings (Shao et al. 2024), with Dr. GRPO's, DAPO's and GSPO's variants as options.
/// The defaults are GRPO as published, with TRL's β = 0 (no reference model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GrpoConfig {
    /// Prompts per generation batch.
    pub prompts_per_step: usize,
    /// `G`, completions per prompt (at least 2).
    pub group_size: usize,
    /// `μ`, optimisation passes over each generation batch (`log π_old` stays the policy that
    /// generated it).
    pub num_iterations: usize,
    /// Completions per optimiser step (the batch is `prompts_per_step × group_size`).
    pub mini_batch_size: usize,
    /// `ε_low`: ratios are clipped below at `1 − ε_low` (0.2).
    pub epsilon_low: f64,
    /// `ε_high`: ratios are clipped above at `1 + ε_high`; unset, it equals `ε_low` (DAPO's
    /// clip-higher uses 0.28).
    pub epsilon_high: Option<f64>,
    /// `β` of the `k3` penalty toward the frozen starting policy (0: none, and no reference
    /// model is kept).
    pub kl_beta: f64,
    /// What the centred rewards are divided by: `group` (GRPO), `batch`, or `none` (Dr. GRPO).
    pub scale: Scale,
    /// `sequence-mean` (GRPO), `token-mean` (DAPO) or `dr-grpo`.
    pub loss_aggregation: LossAggregation,
    /// `token` ratios (GRPO) or `sequence` ratios (GSPO).
    pub importance_sampling: ImportanceSampling,
    /// Leave completions cut at `max_new_tokens` without a stop token out of the loss (DAPO's
    /// overlong filtering).
    pub mask_truncated: bool,
    /// Learning rate (constant).
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip (`None`: off).
    pub max_grad_norm: Option<f32>,
    /// New tokens per completion at most (also Dr. GRPO's `L_max`).
    pub max_new_tokens: usize,
    /// Sampling temperature.
    pub temperature: f32,
    /// Seed of sampling and minibatch order.
    pub seed: u64,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        Self {
            prompts_per_step: 8,
            group_size: 8,
            num_iterations: 1,
            mini_batch_size: 64,
            epsilon_low: 0.2,
            epsilon_high: None,
            kl_beta: 0.0,
            scale: Scale::Group,
            loss_aggregation: LossAggregation::SequenceMean,
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

/// How each completion's advantage is formed from the rewards of its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvantageRule {
    /// GRPO's `(r − mean_g r)/(s + 1e-4)` with the scale `s` chosen.
    Group(Scale),
    /// RLOO's `r_i − (Σ_j r_j − r_i)/(k − 1)`.
    LeaveOneOut,
}

/// Where `β·KL` to the reference enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KlPenalty {
    /// As GRPO's per-token `k3` term in the loss.
    Loss,
    /// As a sequence penalty on the reward, `r − β·Σ_t (log π_old − log π_ref)` (classic RLOO).
    #[default]
    Reward,
}

/// Everything a [`GroupTrainer`](super::GroupTrainer) needs, built (and checked) from a
/// [`GrpoConfig`] or an [`RlooConfig`](crate::rloo::RlooConfig).
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// The advantage rule.
    pub advantage: AdvantageRule,
    /// Where the KL enters (with `surrogate.kl_beta` the loss's β, 0 under
    /// [`KlPenalty::Reward`]).
    pub kl_penalty: KlPenalty,
    /// `β` of the KL, wherever it enters.
    pub kl_beta: f64,
    /// Prompts per generation batch.
    pub prompts_per_step: usize,
    /// Completions per prompt.
    pub group_size: usize,
    /// Passes over each generation batch.
    pub num_iterations: usize,
    /// Completions per optimiser step.
    pub mini_batch_size: usize,
    /// The surrogate loss.
    pub surrogate: Surrogate,
    /// Leave truncated completions out of the loss.
    pub mask_truncated: bool,
    /// The optimiser.
    pub optim: OptimConfig,
    /// Sampling.
    pub generation: GenerationConfig,
    /// Seed.
    pub seed: u64,
}

impl GroupSettings {
    /// Completions per generation batch.
    pub fn batch_size(&self) -> usize {
        self.prompts_per_step * self.group_size
    }

    /// Whether a frozen reference model is needed (β > 0).
    pub fn needs_reference(&self) -> bool {
        self.kl_beta > 0.0
    }
}

/// The checks GRPO and RLOO share; `group` names the group-size field.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_common(
    group: (&str, usize),
    prompts_per_step: usize,
    num_iterations: usize,
    mini_batch_size: usize,
    epsilon_low: f64,
    epsilon_high: Option<f64>,
    kl_beta: f64,
    lr: f64,
    max_new_tokens: usize,
    temperature: f32,
) -> Result<()> {
    let bad = |f: &str, m: &str| Err(PolicyError::invalid(f, m));
    if group.1 < 2 {
        return bad(group.0, "must be at least 2 (a group needs a baseline)");
    }
    if prompts_per_step == 0 {
        return bad("prompts_per_step", "must be at least 1");
    }
    if num_iterations == 0 {
        return bad("num_iterations", "must be at least 1");
    }
    if mini_batch_size == 0 {
        return bad("mini_batch_size", "must be at least 1");
    }
    if !(epsilon_low > 0.0 && epsilon_low < 1.0) {
        return bad("epsilon_low", "must be in (0, 1)");
    }
    if let Some(h) = epsilon_high
        && !(h > 0.0 && h.is_finite())
    {
        return bad("epsilon_high", "must be positive and finite");
    }
    if !(kl_beta >= 0.0 && kl_beta.is_finite()) {
        return bad("kl_beta", "must be ≥ 0 and finite");
    }
    if !(lr > 0.0 && lr.is_finite()) {
        return bad("lr", "must be positive and finite");
    }
    if max_new_tokens == 0 {
        return bad("max_new_tokens", "must be at least 1");
    }
    if !(temperature > 0.0 && temperature.is_finite()) {
        return bad("temperature", "must be positive and finite");
    }
    Ok(())
}

impl GrpoConfig {
    /// Checks every field, naming the first one that cannot be used.
    pub fn validate(&self) -> Result<()> {
        check_common(
            ("group_size", self.group_size),
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
        Ok(GroupSettings {
            advantage: AdvantageRule::Group(self.scale),
            kl_penalty: KlPenalty::Loss,
            kl_beta: self.kl_beta,
            prompts_per_step: self.prompts_per_step,
            group_size: self.group_size,
            num_iterations: self.num_iterations,
            mini_batch_size: self.mini_batch_size,
            surrogate: Surrogate {
                epsilon_low: self.epsilon_low,
                epsilon_high: self.epsilon_high.unwrap_or(self.epsilon_low),
                aggregation: self.loss_aggregation,
                importance_sampling: self.importance_sampling,
                kl_beta: self.kl_beta,
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
    fn defaults_are_valid_and_bad_fields_are_named() {
        let s = GrpoConfig::default().settings().unwrap();
        assert_eq!(s.surrogate.epsilon_high, 0.2);
        assert!(!s.needs_reference());
        for (c, field) in [
            (
                GrpoConfig {
                    group_size: 1,
                    ..Default::default()
                },
                "group_size",
            ),
            (
                GrpoConfig {
                    epsilon_low: 1.5,
                    ..Default::default()
                },
                "epsilon_low",
            ),
            (
                GrpoConfig {
                    kl_beta: f64::NAN,
                    ..Default::default()
                },
                "kl_beta",
            ),
            (
                GrpoConfig {
                    lr: -1.0,
                    ..Default::default()
                },
                "lr",
            ),
            (
                GrpoConfig {
                    temperature: 0.0,
                    ..Default::default()
                },
                "temperature",
            ),
        ] {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
}
