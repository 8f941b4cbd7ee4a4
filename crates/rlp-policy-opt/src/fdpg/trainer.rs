//! [`FdpgTrainer`]: one f-DPG step is sample from `q` (KV cache, temperature 1, plain device) →
//! score with the target's [`RewardFn`](rlp_core::RewardFn) → teacher-forced `log a`, `log q`
//! (plain device) and `log π` (autodiff device) → `log P`, update `Ẑ`, `log t`, pseudo-rewards,
//! importance weights, baseline → one AdamW step on [`fdpg_loss`] → IS estimates of the
//! divergences and, for an updating offline proposal, DPG's `q ← π` rule.

use rlp_core::With;
use std::collections::HashMap;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Tensor;
use rlp_core::SeededRng;
use rlp_core::tensor_io::to_f32;
use rlp_models::{CausalLm, GenerationConfig, TextTokenizer, generate_with_tokenizer, pad_token};
use rlp_train::optim::require_autodiff;
use rlp_train::{AdamW, OptimConfig, collate_sft};
use serde::{Deserialize, Serialize};

use super::baseline::MovingBaseline;
use super::config::{FdpgConfig, Proposal};
use super::divergence::{log_ratio, pseudo_reward};
use super::estimates::{DivergenceEstimates, divergence_estimates, kl_from_target};
use super::loss::{fdpg_loss, importance_weight, loss_coefficients};
use super::partition::PartitionEstimate;
use super::target::{Target, accepts};
use crate::dpo::sequence_logprobs;
use crate::error::{PolicyError, Result};
use crate::prompts::encode_prompts;
use crate::scores::checked_scores;

/// What one f-DPG step did (host values, serialisable into `metrics.jsonl`; every value is from
/// the batch before the update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FdpgStats {
    /// Steps taken so far, this one included.
    pub step: u64,
    /// The surrogate loss `−mean_i w_i (R_i − B) log π(x_i)` (its value means little; its
    /// gradient is the f-DPG gradient).
    pub loss: f64,
    /// Mean pseudo-reward `R = −f′(π/p)` of the batch.
    pub pseudo_reward: f64,
    /// The baseline `B` subtracted from the pseudo-rewards.
    pub baseline: f64,
    /// `log Ẑ` after adding the batch (with `z_per_prompt`, the mean over the batch's samples of
    /// their prompt's `log Ẑ(x)`); `−∞` (serialised as `null`) while no sample had `P > 0`.
    pub log_z: f64,
    /// IS estimates of `KL(p‖π)`, `TV(p, π)` and `JS(p, π)` (`estimates` module docs).
    pub estimates: DivergenceEstimates,
    /// IS estimate of `KL(p‖q)` (offline proposals only).
    pub kl_p_q: Option<f64>,
    /// Mean score of the target's reward (RLHF) or constraint (pointwise).
    pub reward: f64,
    /// Share of samples with `b(x) = 1` (pointwise targets only).
    pub acceptance: Option<f64>,
    /// Mean importance weight `π/q` (1 online).
    pub importance_weight: f64,
    /// Mean response length in tokens (stop token included).
    pub response_len: f64,
    /// Share of samples cut at `max_new_tokens` without a stop token.
    pub truncated: f64,
    /// Whether the offline proposal was replaced by the policy after this step.
    pub proposal_updated: bool,
    /// Samples in the step.
    pub samples: usize,
    /// The learning rate used.
    pub lr: f64,
    /// Seconds sampling.
    pub time_generate: f64,
    /// Seconds scoring (reward and the teacher-forced passes).
    pub time_score: f64,
    /// Seconds in the update.
    pub time_update: f64,
}

/// One batch of samples as token ids and texts.
struct Samples {
    prompts: Vec<String>,
    rows: Vec<(Vec<u32>, Vec<u32>)>,
    responses: Vec<String>,
    finished: Vec<bool>,
}

/// f-DPG (Go et al., ICML 2023): minimises `D_f(π‖p)` for a target `p ∝ P` built on the frozen
/// initial model `a` (module docs). The policy lives on an autodiff device; `a` and an offline
/// proposal on the matching plain device.
pub struct FdpgTrainer {
    pub(crate) policy: CausalLm,
    pub(crate) initial: CausalLm,
    pub(crate) proposal: Option<CausalLm>,
    pub(crate) proposal_is_initial: bool,
    target: Target,
    tokenizer: TextTokenizer,
    config: FdpgConfig,
    pub(crate) optim: AdamW,
    pub(crate) z: PartitionEstimate,
    pub(crate) z_by_prompt: HashMap<String, PartitionEstimate>,
    pub(crate) baseline: MovingBaseline,
    rng: SeededRng,
}

impl FdpgTrainer {
    /// A trainer for `policy` (on an autodiff device), which is also the initial model `a` of
    /// the target (kept frozen on the plain device) and, for an offline proposal, the first `q`.
    /// Errors: an invalid config, a policy not on an autodiff device, or a tokenizer larger than
    /// the policy's vocabulary.
    pub fn new(
        policy: CausalLm,
        tokenizer: TextTokenizer,
        target: Target,
        config: FdpgConfig,
    ) -> Result<Self> {
        config.validate()?;
        require_autodiff(&policy, "policy")?;
        tokenizer.check_model_vocab(policy.config.vocab_size)?;
        let initial = policy.valid();
        let proposal = (!config.is_online()).then(|| initial.clone());
        let optim = AdamW::new(OptimConfig::default().with(|c| {
            c.lr = config.lr;
            c.weight_decay = config.weight_decay;
            c.max_grad_norm = config.max_grad_norm;
        }));
        Ok(Self {
            policy,
            initial,
            proposal,
            proposal_is_initial: true,
            target,
            tokenizer,
            optim,
            z: PartitionEstimate::new(config.z_weight_clip),
            z_by_prompt: HashMap::new(),
            baseline: MovingBaseline::new(config.baseline_window),
            rng: SeededRng::new(config.seed).fork("fdpg"),
            config,
        })
    }

    /// The policy being trained (autodiff device).
    pub fn policy(&self) -> &CausalLm {
        &self.policy
    }

    /// The trained policy, consuming the trainer.
    pub fn into_policy(self) -> CausalLm {
        self.policy
    }

    /// The frozen initial model `a` of the target (plain device).
    pub fn initial(&self) -> &CausalLm {
        &self.initial
    }

    /// The offline proposal `q` (plain device); `None` when online (`q = π`).
    pub fn proposal(&self) -> Option<&CausalLm> {
        self.proposal.as_ref()
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The settings.
    pub fn config(&self) -> &FdpgConfig {
        &self.config
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> u64 {
        self.optim.step
    }

    /// `log Ẑ` over every sample so far, all prompts together (`−∞` before any sample with
    /// `P > 0`).
    pub fn log_z(&self) -> f64 {
        self.z.log_z()
    }

    /// `log Ẑ(x)` of one prompt when `z_per_prompt` is on and the prompt has been sampled.
    pub fn prompt_log_z(&self, prompt: &str) -> Option<f64> {
        self.z_by_prompt.get(prompt).map(PartitionEstimate::log_z)
    }

    /// The generation settings of sampling: `max_new_tokens`, temperature 1, no truncation.
    pub fn generation(&self) -> GenerationConfig {
        GenerationConfig::sampling(self.config.max_new_tokens, 1.0)
    }

    /// One f-DPG step on `batch_size` samples, the prompts taken round-robin from `prompts`
    /// (module docs for what happens). Errors: no prompts, a prompt that encodes to nothing or
    /// does not fit the context with `max_new_tokens`, a failing reward or one returning the
    /// wrong number of scores or a non-finite score, and a non-finite loss (the policy is then
    /// left unchanged).
    pub fn step(&mut self, prompts: &[String]) -> Result<FdpgStats> {
        if prompts.is_empty() {
            return Err(PolicyError::invalid("prompts", "no prompts to sample from"));
        }
        let n = self.config.batch_size;
        let rows: Vec<String> = (0..n).map(|j| prompts[j % prompts.len()].clone()).collect();
        let beta = self.config.kl_beta;

        let t0 = Instant::now();
        let current = self.policy.valid();
        let samples = self.sample(self.proposal.as_ref().unwrap_or(&current), rows)?;
        let time_generate = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let scores = checked_scores(self.target.scorer(), &samples.prompts, &samples.responses)?;
        let max_len = self.policy.config.max_position_embeddings;
        let pad = pad_token(&self.initial, &self.tokenizer);
        let plain = collate_sft(&samples.rows, pad, max_len, &self.initial.device())?;
        let log_a = host(sequence_logprobs(&self.initial, &plain));
        let train = collate_sft(&samples.rows, pad, max_len, &self.policy.device())?;
        let logp = sequence_logprobs(&self.policy, &train);
        let log_pi = host(logp.clone().detach());
        let log_q = match &self.proposal {
            None => log_pi.clone(),
            Some(_) if self.proposal_is_initial => log_a.clone(),
            Some(q) => host(sequence_logprobs(q, &plain)),
        };
        let log_target: Vec<f64> = log_a
            .iter()
            .zip(&scores)
            .map(|(&la, &s)| self.target.log_unnormalized(la, s, beta))
            .collect();
        let log_w: Vec<f64> = log_target.iter().zip(&log_q).map(|(p, q)| p - q).collect();
        let log_z = self.update_z(&samples.prompts, &log_w);
        let log_p: Vec<f64> = log_target
            .iter()
            .zip(&log_z)
            .map(
                |(&lp, &lz)| {
                    if lp == f64::NEG_INFINITY { lp } else { lp - lz }
                },
            )
            .collect();
        let rewards: Vec<f64> = (0..n)
            .map(|i| {
                let log_t = log_ratio(log_pi[i], log_target[i], log_z[i]);
                pseudo_reward(self.config.divergence, log_t, self.config.log_ratio_clip)
            })
            .collect();
        let weights: Vec<f64> = if self.proposal.is_none() {
            vec![1.0; n]
        } else {
            (0..n)
                .map(|i| importance_weight(log_pi[i], log_q[i]))
                .collect()
        };
        let baseline = self.baseline.next(&rewards);
        let coefficients = loss_coefficients(&weights, &rewards, baseline);
        let estimates = divergence_estimates(&log_p, &log_pi, &log_q);
        let kl_p_q = self
            .proposal
            .as_ref()
            .map(|_| kl_from_target(&log_p, &log_q, &log_q));
        let time_score = t1.elapsed().as_secs_f64();

        let t2 = Instant::now();
        let lr = self.config.lr;
        let (policy, loss) =
            self.optim
                .minimize(self.policy.clone(), fdpg_loss(logp, &coefficients), lr)?;
        self.policy = policy;
        let mut proposal_updated = false;
        if let (Proposal::Offline { update: true }, Some(kl_q)) = (self.config.proposal, kl_p_q)
            && estimates.kl_p_pi < kl_q
        {
            self.proposal = Some(current);
            self.proposal_is_initial = false;
            proposal_updated = true;
        }
        let time_update = t2.elapsed().as_secs_f64();

        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        let scores64: Vec<f64> = scores.iter().map(|&s| s as f64).collect();
        let tokens: usize = samples.rows.iter().map(|(_, r)| r.len()).sum();
        Ok(FdpgStats {
            step: self.optim.step,
            loss,
            pseudo_reward: mean(&rewards),
            baseline,
            log_z: mean(&log_z),
            estimates,
            kl_p_q,
            reward: mean(&scores64),
            acceptance: self
                .target
                .is_pointwise()
                .then(|| scores.iter().filter(|&&s| accepts(s)).count() as f64 / n as f64),
            importance_weight: mean(&weights),
            response_len: tokens as f64 / n as f64,
            truncated: samples.finished.iter().filter(|f| !**f).count() as f64 / n as f64,
            proposal_updated,
            samples: n,
            lr,
            time_generate,
            time_score,
            time_update,
        })
    }

    /// Samples one response per row from `model` (plain device) with the KV cache.
    fn sample(&self, model: &CausalLm, prompts: Vec<String>) -> Result<Samples> {
        let ids = encode_prompts(&self.tokenizer, &prompts)?;
        let mut rng = self.rng.fork(&format!("sample-{}", self.optim.step));
        let gens =
            generate_with_tokenizer(model, &self.tokenizer, &ids, &self.generation(), &mut rng)?;
        let mut out = Samples {
            prompts,
            rows: Vec::with_capacity(gens.len()),
            responses: Vec::with_capacity(gens.len()),
            finished: Vec::with_capacity(gens.len()),
        };
        for (prompt, g) in ids.into_iter().zip(gens) {
            out.responses.push(g.text(&self.tokenizer)?);
            out.finished.push(g.finished);
            out.rows.push((prompt, g.tokens));
        }
        Ok(out)
    }

    /// Adds the batch's log-weights `log(P/q)` to `Ẑ` (and to each prompt's with
    /// `z_per_prompt`); returns each sample's `log Ẑ`.
    fn update_z(&mut self, prompts: &[String], log_w: &[f64]) -> Vec<f64> {
        self.z.update(log_w);
        if !self.config.z_per_prompt {
            return vec![self.z.log_z(); log_w.len()];
        }
        let mut groups: HashMap<&str, Vec<f64>> = HashMap::new();
        for (p, &w) in prompts.iter().zip(log_w) {
            groups.entry(p.as_str()).or_default().push(w);
        }
        let clip = self.config.z_weight_clip;
        for (p, ws) in groups {
            self.z_by_prompt
                .entry(p.to_string())
                .or_insert_with(|| PartitionEstimate::new(clip))
                .update(&ws);
        }
        prompts
            .iter()
            .map(|p| self.z_by_prompt[p].log_z())
            .collect()
    }
}

fn host(t: Tensor<1>) -> Vec<f64> {
    to_f32(t).into_iter().map(f64::from).collect()
}
