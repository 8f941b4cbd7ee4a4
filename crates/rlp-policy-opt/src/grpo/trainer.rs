//! [`GroupTrainer`]: one step of GRPO or RLOO is generate `G` completions for each of
//! `prompts_per_step` prompts (KV cache, plain device) → score → `log π_old` (and, with β > 0,
//! `log π_ref`) of every token in one teacher-forced pass each → the group advantages (RLOO:
//! on `r − β·KL_seq` when the KL is a reward penalty) → `μ` passes of the clipped surrogate
//! over shuffled minibatches.
//!
//! Under data parallelism (`rlp_core::parallel`, N ranks) each rank generates for its
//! `prompts_per_step / N` prompts (whole groups, so group advantages stay local), with random
//! streams of its own, and walks its rows in minibatches of `mini_batch_size / N`; the
//! optimiser averages the ranks' gradients, weighted as the loss aggregates (tokens for the
//! token mean, sequences otherwise), so each step is one of `mini_batch_size` rows. The
//! batch-wide quantities (the batch standard deviation of [`Scale::Batch`], the logged means)
//! are reduced over the ranks.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use rlp_core::tensor_io::floats;
use rlp_core::{RewardFn, SeededRng, parallel};
use rlp_models::{CausalLm, TextTokenizer};
use rlp_train::AdamW;
use rlp_train::optim::require_autodiff;
use serde::{Deserialize, Serialize};

use super::advantages::{
    Scale, equal_reward_groups, group_advantages, group_advantages_given_batch_std,
};
use super::config::{AdvantageRule, GroupSettings, KlPenalty};
use super::surrogate::SurrogateStats;
use crate::anchor::{Anchor, FrozenAnchor};
use crate::error::Result;
use crate::ppo::rollout::{Rollout, response_logprobs, sample_rollout};
use crate::rloo::leave_one_out_advantages;
use crate::scores::checked_scores;

/// What one generation batch and its updates did (host values, one `metrics.jsonl` line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    /// Generation batches done, this one included.
    pub step: usize,
    /// Mean reward of the completions.
    pub score: f64,
    /// Standard deviation of the rewards over the batch.
    pub score_std: f64,
    /// Share of groups whose rewards were all equal (they give no policy gradient).
    pub equal_reward_groups: f64,
    /// Mean sequence KL to the reference, `Σ_t (log π_old − log π_ref)` on the sampled tokens
    /// (k1); `None` without a reference (β = 0).
    pub kl: Option<f64>,
    /// The surrogate's diagnostics, averaged over the optimiser steps.
    pub surrogate: SurrogateStats,
    /// Mean completion length in tokens (stop token included).
    pub response_len: f64,
    /// Share of completions cut at `max_new_tokens` without a stop token.
    pub truncated: f64,
    /// Sample estimate of the per-token entropy, `−mean log π_old(y_t)`.
    pub entropy: f64,
    /// Optimiser steps taken in this batch.
    pub optimizer_steps: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seconds generating.
    pub time_generate: f64,
    /// Seconds scoring (reward and the teacher-forced passes).
    pub time_score: f64,
    /// Seconds updating.
    pub time_update: f64,
}

/// GRPO or RLOO on a policy (on an autodiff device), with a frozen reference (the starting
/// policy, on the plain device) when β > 0.
pub struct GroupTrainer {
    pub(crate) policy: CausalLm,
    reference: Option<FrozenAnchor>,
    tokenizer: TextTokenizer,
    settings: GroupSettings,
    pub(crate) optim: AdamW,
    pub(crate) steps: usize,
    rng: SeededRng,
}

impl GroupTrainer {
    /// A trainer; `policy` is also the reference when β > 0. Errors: a policy not on an
    /// autodiff device, or a tokenizer larger than its vocabulary.
    pub fn new(
        policy: CausalLm,
        tokenizer: TextTokenizer,
        settings: GroupSettings,
    ) -> Result<Self> {
        require_autodiff(&policy, "policy")?;
        tokenizer.check_model_vocab(policy.config.vocab_size)?;
        parallel::check_divisible(settings.prompts_per_step, "prompts_per_step")?;
        parallel::check_divisible(settings.mini_batch_size, "mini_batch_size")?;
        Ok(Self {
            reference: settings
                .needs_reference()
                .then(|| FrozenAnchor::new(&policy)),
            policy,
            tokenizer,
            optim: AdamW::new(settings.optim.clone()),
            steps: 0,
            rng: SeededRng::new(settings.seed).fork("group"),
            settings,
        })
    }

    /// The policy being trained (autodiff device).
    pub fn policy(&self) -> &CausalLm {
        &self.policy
    }

    /// The settings.
    pub fn settings(&self) -> &GroupSettings {
        &self.settings
    }

    /// Generation batches done.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// One generation batch on `prompts` (each sampled `group_size` times) against `reward`.
    /// Errors: no prompts, a prompt that encodes to nothing, a failing reward (or one returning
    /// a non-finite score), and a non-finite loss or gradient (the policy is then unchanged).
    pub fn step(&mut self, prompts: &[String], reward: &dyn RewardFn) -> Result<GroupStats> {
        let g = self.settings.group_size;
        let expanded: Vec<String> = parallel::shard(prompts)
            .iter()
            .flat_map(|p| std::iter::repeat_n(p.clone(), g))
            .collect();
        let plain = self.policy.valid();
        let t0 = Instant::now();
        let mut rng = self.rng.fork(&parallel::stream_name(&format!(
            "rollout-{}",
            self.steps + 1
        )));
        let rollout = sample_rollout(
            &plain,
            &self.tokenizer,
            &expanded,
            &self.settings.generation,
            &mut rng,
        )?;
        let time_generate = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let scores = checked_scores(reward, &rollout.prompts, &rollout.responses)?;
        let plain_device = plain.device();
        let all: Vec<usize> = (0..rollout.len()).collect();
        let rows = rollout.tensors(&all, &plain_device);
        let r = rollout.response_len();
        let old_logp = rollout.per_row(response_logprobs(&plain, &rows));
        let ref_logp = self
            .reference
            .as_ref()
            .map(|a| rollout.per_row(response_logprobs(a.model(), &rows)));
        let mask = &rollout.response_mask;
        let seq_kl: Option<Vec<f64>> = ref_logp.as_ref().map(|rl| {
            (0..rollout.len())
                .map(|i| {
                    (0..r)
                        .map(|t| mask[i][t] as f64 * (old_logp[i][t] - rl[i][t]) as f64)
                        .sum()
                })
                .collect()
        });
        let shaped: Vec<f32> = match (&seq_kl, self.settings.kl_penalty) {
            (Some(kl), KlPenalty::Reward) => scores
                .iter()
                .zip(kl)
                .map(|(s, k)| (*s as f64 - self.settings.kl_beta * k) as f32)
                .collect(),
            _ => scores.clone(),
        };
        let advantages = match self.settings.advantage {
            AdvantageRule::Group(Scale::Batch) if parallel::world().size() > 1 => {
                group_advantages_given_batch_std(&shaped, g, Scale::Batch, global_std(&shaped))
            }
            AdvantageRule::Group(scale) => group_advantages(&shaped, g, scale),
            AdvantageRule::LeaveOneOut => leave_one_out_advantages(&shaped, g),
        };
        let loss_mask: Vec<Vec<f32>> = mask
            .iter()
            .zip(&rollout.finished)
            .map(|(m, &done)| {
                if done || !self.settings.mask_truncated {
                    m.clone()
                } else {
                    vec![0.0; m.len()]
                }
            })
            .collect();
        let time_score = t1.elapsed().as_secs_f64();

        let t2 = Instant::now();
        let (surrogate, optimizer_steps) = self.update(
            &rollout,
            &old_logp,
            ref_logp.as_deref(),
            &advantages,
            &loss_mask,
        )?;
        let time_update = t2.elapsed().as_secs_f64();

        let lens = rollout.lengths();
        let logp_sum: f64 = old_logp
            .iter()
            .zip(mask)
            .flat_map(|(l, m)| l.iter().zip(m).map(|(l, m)| (*l * *m) as f64))
            .sum();
        // Sums over the whole batch (every rank's rows under data parallelism).
        let groups = (rollout.len() / g) as f64;
        let mut sums = [
            rollout.len() as f64,
            scores.iter().map(|&s| s as f64).sum(),
            (equal_reward_groups(&scores, g) * groups).round(),
            seq_kl.as_ref().map_or(0.0, |k| k.iter().sum()),
            lens.iter().sum::<usize>() as f64,
            rollout.finished.iter().filter(|f| !**f).count() as f64,
            logp_sum,
        ];
        parallel::world().sum_f64(&mut sums);
        let [n, score_sum, equal, kl_sum, tokens, truncated, logp_sum] = sums;
        let mean = score_sum / n;
        let var = parallel::sum(scores.iter().map(|&s| (s as f64 - mean).powi(2)).sum())
            / (n - 1.0).max(1.0);
        let mut diag = [
            surrogate.loss,
            surrogate.clip_low,
            surrogate.clip_high,
            surrogate.ratio,
            surrogate.k3,
        ];
        parallel::weighted_mean(&mut diag, 1.0);
        let [loss, clip_low, clip_high, ratio, k3] = diag;
        let surrogate = SurrogateStats {
            loss,
            clip_low,
            clip_high,
            ratio,
            k3,
        };
        self.steps += 1;
        Ok(GroupStats {
            step: self.steps,
            score: mean,
            score_std: var.sqrt(),
            equal_reward_groups: equal / (n / g as f64),
            kl: seq_kl.map(|_| kl_sum / n),
            surrogate,
            response_len: tokens / n,
            truncated: truncated / n,
            entropy: -logp_sum / tokens.max(1.0),
            optimizer_steps,
            lr: self.settings.optim.lr,
            time_generate,
            time_score,
            time_update,
        })
    }

    /// `num_iterations` passes over shuffled minibatches; the mean diagnostics and the number
    /// of optimiser steps.
    fn update(
        &mut self,
        rollout: &Rollout,
        old_logp: &[Vec<f32>],
        ref_logp: Option<&[Vec<f32>]>,
        advantages: &[f32],
        loss_mask: &[Vec<f32>],
    ) -> Result<(SurrogateStats, usize)> {
        let device: Device = self.policy.device();
        let rows_of = |v: &[Vec<f32>], idx: &[usize]| rollout.gather(v, idx, &device);
        let mut order: Vec<usize> = (0..rollout.len()).collect();
        let mut shuffle = self.rng.fork(&parallel::stream_name(&format!(
            "minibatches-{}",
            self.steps + 1
        )));
        // Each rank's share of a minibatch (the whole of it in one process).
        let rows = self.settings.mini_batch_size / parallel::world().size();
        let mut acc = SurrogateStats::default();
        let mut steps = 0usize;
        for _ in 0..self.settings.num_iterations {
            shuffle.shuffle(&mut order);
            for idx in order.chunks(rows) {
                let rows = rollout.tensors(idx, &device);
                let logp = response_logprobs(&self.policy, &rows);
                let adv = floats(
                    idx.iter().map(|&i| advantages[i]).collect(),
                    [idx.len()],
                    &device,
                );
                let (loss, s) = self.settings.surrogate.loss(
                    logp,
                    rows_of(old_logp, idx),
                    ref_logp.map(|v| rows_of(v, idx)),
                    adv,
                    rows_of(loss_mask, idx),
                );
                let lr = self.settings.optim.lr;
                let weight = self.settings.surrogate.weight(idx.len(), || {
                    idx.iter().map(|&i| loss_mask[i].iter().sum::<f32>()).sum()
                });
                let (policy, _) =
                    self.optim
                        .minimize_weighted(self.policy.clone(), loss, lr, weight)?;
                self.policy = policy;
                acc.loss += s.loss;
                acc.clip_low += s.clip_low;
                acc.clip_high += s.clip_high;
                acc.ratio += s.ratio;
                acc.k3 += s.k3;
                steps += 1;
            }
        }
        let k = steps.max(1) as f64;
        acc.loss /= k;
        acc.clip_low /= k;
        acc.clip_high /= k;
        acc.ratio /= k;
        acc.k3 /= k;
        Ok((acc, steps))
    }
}
/// The unbiased standard deviation of every rank's `values` together (two passes, as in one
/// process: the global mean, then the squared deviations from it).
fn global_std(values: &[f32]) -> f64 {
    let n = parallel::sum(values.len() as f64);
    if n < 2.0 {
        return 0.0;
    }
    let mean = parallel::sum(values.iter().map(|&v| v as f64).sum()) / n;
    let sq = parallel::sum(values.iter().map(|&v| (v as f64 - mean).powi(2)).sum());
    (sq / (n - 1.0)).sqrt()
}
