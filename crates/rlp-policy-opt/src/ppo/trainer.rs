//! [`PpoTrainer`]: one PPO iteration is generate → score → per-token rewards (KL penalty against
//! the anchor + score on the last token) → values → GAE → `ppo_epochs` passes of clipped policy
//! and value updates over shuffled minibatches → KL controller and anchor updates
//! (`docs/algorithms.md`, "RLHF with PPO").

use rlp_core::With;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use rlp_core::masked::{masked_whiten, masked_whiten_over_ranks};
use rlp_core::parallel;
use rlp_core::tensor_io::floats;
use rlp_core::{RewardFn, SeededRng};
use rlp_models::{CausalLm, GenerationConfig, SamplingParams, TextTokenizer};
use rlp_train::optim::{require_autodiff, warmup_linear_decay};
use rlp_train::{AdamW, OptimConfig};
use serde::{Deserialize, Serialize};

use super::config::{LrSchedule, PpoConfig};
use super::gae::gae;
use super::kl_control::KlController;
use super::losses::{PolicyLossStats, ValueLossStats, policy_loss, value_loss};
use super::rewards::token_rewards;
use super::rollout::{Rollout, RolloutTensors, response_logprobs, sample_rollout};
use super::value::ValueModel;
use crate::anchor::Anchor;
use crate::error::PolicyError;
use crate::scores::checked_scores;

/// What one iteration did (host values, serialisable into `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoStats {
    /// 0-based iteration.
    pub iteration: usize,
    /// Mean reward-function score of the rollouts (after the missing-EOS penalty).
    pub score: f64,
    /// Mean sequence KL to the anchor, `Σ_t (log π − log π_ref)` (k1, on the sampled tokens,
    /// under the rollout policy).
    pub kl: f64,
    /// Mean of `score − β·kl`, the objective PPO maximises.
    pub objective: f64,
    /// β used for this iteration's rewards.
    pub beta: f64,
    /// Mean response length in tokens (stop token included).
    pub response_len: f64,
    /// Share of responses cut at `max_new_tokens` without a stop token.
    pub truncated: f64,
    /// Sample estimate of the policy's per-token entropy, `−mean log π(y_t)`.
    pub entropy: f64,
    /// Policy-loss diagnostics, averaged over the minibatch steps.
    pub policy: PolicyLossStats,
    /// Value-loss diagnostics, averaged over the minibatch steps.
    pub value: ValueLossStats,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Seconds generating.
    pub time_generate: f64,
    /// Seconds scoring (reward function, anchor and value passes).
    pub time_score: f64,
    /// Seconds in the PPO epochs.
    pub time_update: f64,
}

/// PPO on a policy against a KL anchor. Policy and value model live on an autodiff device; the
/// anchor's model on the matching plain device.
pub struct PpoTrainer {
    /// The policy being trained.
    pub policy: CausalLm,
    /// The critic.
    pub value: ValueModel,
    /// What the KL penalty is measured against.
    pub anchor: Box<dyn Anchor>,
    /// The policy's tokenizer.
    pub tokenizer: TextTokenizer,
    /// Settings.
    pub config: PpoConfig,
    /// β and its rule.
    pub kl: KlController,
    /// Iterations done.
    pub iteration: usize,
    policy_opt: AdamW,
    value_opt: AdamW,
    rng: SeededRng,
}

impl PpoTrainer {
    /// A trainer; checks the config, that policy and value model can be trained (autodiff
    /// device) and that the tokenizer fits the policy.
    pub fn new(
        policy: CausalLm,
        value: ValueModel,
        anchor: Box<dyn Anchor>,
        tokenizer: TextTokenizer,
        config: PpoConfig,
    ) -> Result<Self, PolicyError> {
        config.validate()?;
        parallel::check_divisible(config.rollout_batch_size, "rollout_batch_size")?;
        parallel::check_divisible(config.mini_batch_size, "mini_batch_size")?;
        require_autodiff(&policy, "policy")?;
        require_autodiff(&value, "value model")?;
        tokenizer.check_model_vocab(policy.config.vocab_size)?;
        let mut optim = OptimConfig::default();
        optim.lr = config.lr;
        optim.weight_decay = config.weight_decay;
        optim.max_grad_norm = config.max_grad_norm;
        Ok(Self {
            policy,
            value,
            anchor,
            tokenizer,
            kl: KlController::new(config.kl),
            iteration: 0,
            policy_opt: AdamW::new(optim.clone()),
            value_opt: AdamW::new(optim),
            rng: SeededRng::new(config.seed).fork("ppo"),
            config,
        })
    }

    /// The generation settings of rollouts.
    pub fn generation(&self) -> GenerationConfig {
        GenerationConfig::default().with(|c| {
            c.max_new_tokens = self.config.max_new_tokens;
            c.sampling = SamplingParams::default();
            c.sampling.temperature = self.config.temperature;
            c.sampling.top_k = None;
            c.sampling.top_p = None;
        })
    }

    /// The policy's and the value model's optimisers.
    pub(crate) fn optimizers(&self) -> (&AdamW, &AdamW) {
        (&self.policy_opt, &self.value_opt)
    }

    /// Clears both optimisers' moment estimates (Elastic Reset's optional optimiser reset).
    /// The step counts, which place the learning-rate schedule, carry on.
    pub fn reset_optimizers(&mut self) {
        let optim = self.policy_opt.config.clone();
        let (p, v) = (self.policy_opt.step, self.value_opt.step);
        self.policy_opt = AdamW::new(optim.clone());
        self.value_opt = AdamW::new(optim);
        self.policy_opt.step = p;
        self.value_opt.step = v;
    }

    /// Replaces both optimisers' state with saved moments and step counts.
    pub(crate) fn restore_optimizers(
        &mut self,
        policy: &std::path::Path,
        policy_steps: u64,
        value: &std::path::Path,
        value_steps: u64,
    ) -> Result<(), PolicyError> {
        let optim = self.policy_opt.config.clone();
        self.policy_opt = AdamW::new(optim.clone()).load_state(policy, policy_steps)?;
        self.value_opt = AdamW::new(optim).load_state(value, value_steps)?;
        Ok(())
    }

    fn lr(&self, step: u64) -> f64 {
        match self.config.lr_schedule {
            LrSchedule::Constant => self.config.lr,
            LrSchedule::WarmupLinearDecay { total_steps } => {
                warmup_linear_decay(step as usize, total_steps.max(1), self.config.lr)
            }
        }
    }

    /// One iteration on `prompts` (normally `rollout_batch_size` of them) against `reward`.
    pub fn step(
        &mut self,
        prompts: &[String],
        reward: &dyn RewardFn,
    ) -> Result<PpoStats, PolicyError> {
        let train_device = self.policy.device();
        let plain_device = self.anchor.model().device();
        let t0 = Instant::now();
        let plain_policy = self.policy.valid();
        let mut gen_rng = self.rng.fork(&parallel::stream_name(&format!(
            "rollout-{}",
            self.iteration
        )));
        let rollout = sample_rollout(
            &plain_policy,
            &self.tokenizer,
            parallel::shard(prompts),
            &self.generation(),
            &mut gen_rng,
        )?;
        let time_generate = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let scores = self.scores(&rollout, reward)?;
        let all: Vec<usize> = (0..rollout.len()).collect();
        let rows = rollout.tensors(&all, &plain_device);
        let old_logp = rollout.per_row(response_logprobs(&plain_policy, &rows));
        let ref_logp = rollout.per_row(response_logprobs(self.anchor.model(), &rows));
        let old_values = rollout.per_row(self.value.valid().values(&rows));
        let mask = &rollout.response_mask;
        let beta = self.kl.beta;
        let tr = token_rewards(&old_logp, &ref_logp, mask, &scores, beta);
        let mut rewards = tr.rewards;
        if self.config.whiten_rewards {
            rewards = whiten(&rewards, &rollout, &rows, false, &plain_device);
        }
        let g = gae(
            &rewards,
            &old_values,
            mask,
            self.config.gae_gamma,
            self.config.gae_lambda,
        );
        let mut advantages = g.advantages;
        if self.config.whiten_advantages {
            advantages = whiten(&advantages, &rollout, &rows, true, &plain_device);
        }
        let time_score = t1.elapsed().as_secs_f64();

        let t2 = Instant::now();
        let (policy_stats, value_stats, lr) = self.update(
            &rollout,
            &old_logp,
            &old_values,
            &advantages,
            &g.returns,
            &train_device,
        )?;
        let time_update = t2.elapsed().as_secs_f64();

        let seq_kl: Vec<f64> = tr
            .kl
            .iter()
            .map(|k| k.iter().map(|&v| v as f64).sum())
            .collect();
        let lens = rollout.lengths();
        let logp_sum = old_logp
            .iter()
            .zip(mask)
            .flat_map(|(l, m)| {
                l.iter()
                    .zip(m)
                    .filter(|(_, m)| **m > 0.5)
                    .map(|(l, _)| *l as f64)
            })
            .sum::<f64>();
        // Sums over the whole batch (every rank's rows under data parallelism): the adaptive
        // KL controller must see the same KL on every rank to keep β the same.
        let mut sums = [
            rollout.len() as f64,
            seq_kl.iter().sum::<f64>(),
            scores.iter().map(|&s| s as f64).sum::<f64>(),
            lens.iter().sum::<usize>() as f64,
            logp_sum,
            rollout.finished.iter().filter(|f| !**f).count() as f64,
        ];
        parallel::world().sum_f64(&mut sums);
        let [n, kl_sum, score_sum, tokens, logp_sum, truncated] = sums;
        let (kl, score) = (kl_sum / n, score_sum / n);
        let entropy = -logp_sum / tokens.max(1.0);
        let mut diag = [
            policy_stats.loss,
            policy_stats.clip_fraction,
            policy_stats.approx_kl,
            value_stats.loss,
            value_stats.clip_fraction,
        ];
        parallel::weighted_mean(&mut diag, 1.0);
        let policy_stats = PolicyLossStats {
            loss: diag[0],
            clip_fraction: diag[1],
            approx_kl: diag[2],
        };
        let value_stats = ValueLossStats {
            loss: diag[3],
            clip_fraction: diag[4],
        };
        self.kl.update(kl, n as usize);
        self.anchor.after_iteration(&self.policy);
        let stats = PpoStats {
            iteration: self.iteration,
            score,
            kl,
            objective: score - beta * kl,
            beta,
            response_len: tokens / n,
            truncated: truncated / n,
            entropy,
            policy: policy_stats,
            value: value_stats,
            lr,
            time_generate,
            time_score,
            time_update,
        };
        self.iteration += 1;
        Ok(stats)
    }

    /// The reward function's scores, with the missing-EOS penalty applied.
    fn scores(&self, rollout: &Rollout, reward: &dyn RewardFn) -> Result<Vec<f32>, PolicyError> {
        let mut scores = checked_scores(reward, &rollout.prompts, &rollout.responses)?;
        if let Some(penalty) = self.config.missing_eos_penalty {
            for (s, done) in scores.iter_mut().zip(&rollout.finished) {
                if !done {
                    *s = penalty;
                }
            }
        }
        Ok(scores)
    }

    /// `ppo_epochs` passes over shuffled minibatches; returns mean diagnostics and the last lr.
    fn update(
        &mut self,
        rollout: &Rollout,
        old_logp: &[Vec<f32>],
        old_values: &[Vec<f32>],
        advantages: &[Vec<f32>],
        returns: &[Vec<f32>],
        device: &Device,
    ) -> Result<(PolicyLossStats, ValueLossStats, f64), PolicyError> {
        let rows_of = |v: &[Vec<f32>], idx: &[usize]| rollout.gather(v, idx, device);
        let mut order: Vec<usize> = (0..rollout.len()).collect();
        let mut shuffle = self.rng.fork(&parallel::stream_name(&format!(
            "minibatches-{}",
            self.iteration
        )));
        // Each rank's share of a minibatch (the whole of it in one process).
        let rows_per_step = self.config.mini_batch_size / parallel::world().size();
        let mut p_acc = PolicyLossStats {
            loss: 0.0,
            clip_fraction: 0.0,
            approx_kl: 0.0,
        };
        let mut v_acc = ValueLossStats {
            loss: 0.0,
            clip_fraction: 0.0,
        };
        let (mut steps, mut lr) = (0usize, self.config.lr);
        for _ in 0..self.config.ppo_epochs {
            shuffle.shuffle(&mut order);
            for idx in order.chunks(rows_per_step) {
                let rows = rollout.tensors(idx, device);
                lr = self.lr(self.policy_opt.step);
                let logp = response_logprobs(&self.policy, &rows);
                let (loss, ps) = policy_loss(
                    logp,
                    rows_of(old_logp, idx),
                    rows_of(advantages, idx),
                    rows.response_mask.clone(),
                    self.config.clip_range,
                );
                // Both losses are token means: a data-parallel shard weighs its tokens.
                let tokens: f64 = idx
                    .iter()
                    .map(|&i| rollout.response_mask[i].iter().sum::<f32>() as f64)
                    .sum();
                let (policy, _) =
                    self.policy_opt
                        .minimize_weighted(self.policy.clone(), loss, lr, tokens)?;
                self.policy = policy;
                let values = self.value.values(&rows);
                let (vloss, vs) = value_loss(
                    values,
                    rows_of(old_values, idx),
                    rows_of(returns, idx),
                    rows.response_mask.clone(),
                    self.config.clip_range_value,
                );
                let (value, _) = self.value_opt.minimize_weighted(
                    self.value.clone(),
                    vloss * self.config.vf_coef,
                    lr,
                    tokens,
                )?;
                self.value = value;
                p_acc.loss += ps.loss;
                p_acc.clip_fraction += ps.clip_fraction;
                p_acc.approx_kl += ps.approx_kl;
                v_acc.loss += vs.loss;
                v_acc.clip_fraction += vs.clip_fraction;
                steps += 1;
            }
        }
        let k = steps.max(1) as f64;
        p_acc.loss /= k;
        p_acc.clip_fraction /= k;
        p_acc.approx_kl /= k;
        v_acc.loss /= k;
        v_acc.clip_fraction /= k;
        Ok((p_acc, v_acc, lr))
    }
}

/// `masked_whiten` of per-row values over the rollout's response tokens: on the device in one
/// process, and with the mean and variance of every rank's tokens under data parallelism
/// (`masked_whiten_over_ranks`, on the host, where the reduction happens).
fn whiten(
    values: &[Vec<f32>],
    rollout: &Rollout,
    rows: &RolloutTensors,
    shift_mean: bool,
    device: &Device,
) -> Vec<Vec<f32>> {
    if parallel::world().size() > 1 {
        return masked_whiten_over_ranks(values, &rollout.response_mask, shift_mean);
    }
    let shape = [rollout.len(), rollout.response_len()];
    rollout.per_row(masked_whiten(
        floats(values.concat(), shape, device),
        rows.response_mask.clone(),
        shift_mean,
    ))
}
