//! [`QuarkTrainer`] (Lu et al., NeurIPS 2022, Algorithm 1): grow the vocabulary by the `K`
//! reward tokens, then alternate
//!
//! 1. **exploration** ([`QuarkTrainer::explore`]): sample responses — from the frozen initial
//!    model π₀ the first time (the pool's initialisation), afterwards from the policy
//!    conditioned on the best reward token `r_{K−1}` — score them with the [`RewardFn`], add
//!    them to the data pool and re-quantise the whole pool;
//! 2. **learning** ([`QuarkTrainer::train_steps`]): AdamW steps on [`quark_loss`] over seeded
//!    shuffled minibatches of the pool, each sample conditioned on its quantile's token `r_k`.
//!
//! Sampling runs on the plain device with the KV cache, at temperature 1, with the reward-token
//! ids suppressed as outputs ([`suppress_outputs`]); the policy trains on its autodiff device and
//! π₀ (the policy as passed in, original vocabulary) stays frozen on the plain device.

use rlp_core::With;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Tensor;
use rlp_core::{Completion, RewardFn, SeededRng};
use rlp_models::vocab::suppress_outputs;
use rlp_models::{
    CausalLm, Generation, GenerationConfig, TextTokenizer, generate_with_tokenizer, pad_token,
};
use rlp_train::optim::require_autodiff;
use rlp_train::vocab::grow_vocab_with_tokens;
use rlp_train::{AdamW, OptimConfig};
use serde::{Deserialize, Serialize};

use super::batch::{BatchRow, QuarkBatch};
use super::config::QuarkConfig;
use super::loss::{QuarkLossStats, quark_loss};
use super::pool::{DataPool, PoolSample};
use super::quantile::QuantileBounds;
use super::tokens::{condition, reward_tokens};
use crate::error::{PolicyError, Result};
use crate::prompts::encode_prompts;
use crate::scores::checked_scores;

/// What one Quark exploration phase did (Lu et al., NeurIPS 2022): pool size, quantile
/// boundaries, mean reward of the phase's samples (host values, serialisable into
/// `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreStats {
    /// 0-based phase (phase 0 samples from π₀).
    pub phase: usize,
    /// Whether the samples came from the frozen initial model π₀ (the pool's initialisation)
    /// rather than from the policy conditioned on `r_{K−1}`.
    pub from_initial: bool,
    /// Samples drawn in the phase.
    pub samples: usize,
    /// Mean reward `R` of the phase's samples.
    pub mean_reward: f64,
    /// Samples in the pool after the phase.
    pub pool_size: usize,
    /// Mean reward of the whole pool after the phase.
    pub pool_mean_reward: f64,
    /// Size and reward range of each quantile after re-quantising (`k = 0` worst).
    pub quantiles: QuantileBounds,
    /// Mean response length in tokens (stop token included).
    pub response_len: f64,
    /// Share of samples cut at `max_new_tokens` without a stop token.
    pub truncated: f64,
    /// Wall-clock seconds (sampling and scoring).
    pub seconds: f64,
}

/// What a run of Quark training steps did (Lu et al., NeurIPS 2022): the means over its steps
/// of each step's token means of the loss, NLL, KL and entropy (before each update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainStats {
    /// Steps in this call.
    pub steps: usize,
    /// Optimiser steps taken so far, these included.
    pub total_steps: u64,
    /// Mean loss `NLL + β·KL − α·H`.
    pub loss: f64,
    /// Mean NLL `−log π(y_t | r_k, x, y_<t)`.
    pub nll: f64,
    /// Mean exact `KL(π(·|r_k, x, y_<t) ‖ π₀(·|x, y_<t))` per token.
    pub kl: f64,
    /// Mean exact entropy `H(π(·|r_k, x, y_<t))` per token.
    pub entropy: f64,
    /// Response tokens trained on.
    pub tokens: usize,
    /// The learning rate.
    pub lr: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// One Quark phase (Lu et al., NeurIPS 2022): an exploration and the training steps after it
/// ([`QuarkTrainer::phase`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    /// The exploration.
    pub explore: ExploreStats,
    /// The training steps.
    pub train: TrainStats,
}

/// Quark (Lu et al., NeurIPS 2022; module docs): quantised reward conditioning with a KL penalty
/// to the initial model and an entropy bonus.
pub struct QuarkTrainer {
    pub(crate) policy: CausalLm,
    reference: CausalLm,
    tokenizer: TextTokenizer,
    reward: Box<dyn RewardFn>,
    reward_token_ids: Vec<u32>,
    original_vocab: usize,
    pub(crate) pool: DataPool,
    config: QuarkConfig,
    pub(crate) optim: AdamW,
    rng: SeededRng,
    pub(crate) phases: usize,
    pub(crate) order: Vec<usize>,
    pub(crate) cursor: usize,
    pub(crate) epochs: usize,
}

impl QuarkTrainer {
    /// A trainer for `policy` (on an autodiff device) and its `tokenizer`, which must have
    /// exactly the policy's `vocab_size` ids. π₀ is a frozen plain-device copy of `policy` as
    /// passed in; the policy and the tokenizer then grow by the `K` reward tokens
    /// `<|quark_0|> … <|quark_{K−1}|>` (ids `V … V+K−1`, embedding rows drawn per dimension from
    /// the existing rows' mean and standard deviation: [`rlp_models::vocab`]). Errors: an invalid
    /// config, a policy not on an autodiff device, a tokenizer whose size differs from the
    /// model's, or a reward-token string the tokenizer already has.
    pub fn new(
        policy: CausalLm,
        tokenizer: TextTokenizer,
        reward: Box<dyn RewardFn>,
        config: QuarkConfig,
    ) -> Result<Self> {
        config.validate()?;
        require_autodiff(&policy, "policy")?;
        let rng = SeededRng::new(config.seed).fork("quark");
        let reference = policy.valid();
        let original_vocab = policy.config.vocab_size;
        let (policy, tokenizer, reward_token_ids) = grow_vocab_with_tokens(
            policy,
            &tokenizer,
            &reward_tokens(config.num_quantiles),
            &mut rng.fork("reward-tokens"),
        )?;
        let optim = AdamW::new(OptimConfig::default().with(|c| {
            c.lr = config.lr;
            c.weight_decay = config.weight_decay;
            c.max_grad_norm = config.max_grad_norm;
        }));
        Ok(Self {
            policy,
            reference,
            tokenizer,
            reward,
            reward_token_ids,
            original_vocab,
            pool: DataPool::new(config.num_quantiles),
            config,
            optim,
            rng,
            phases: 0,
            order: Vec::new(),
            cursor: 0,
            epochs: 0,
        })
    }

    /// The policy being trained (autodiff device, `V + K` ids).
    pub fn policy(&self) -> &CausalLm {
        &self.policy
    }

    /// The trained policy, consuming the trainer.
    pub fn into_policy(self) -> CausalLm {
        self.policy
    }

    /// The frozen initial model π₀ (plain device, the original `V` ids).
    pub fn reference(&self) -> &CausalLm {
        &self.reference
    }

    /// The tokenizer with the reward tokens (`V + K` ids).
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The data pool and its current quantiles.
    pub fn pool(&self) -> &DataPool {
        &self.pool
    }

    /// The ids of `r_0 … r_{K−1}` (index = quantile, 0 worst).
    pub fn reward_token_ids(&self) -> &[u32] {
        &self.reward_token_ids
    }

    /// `V`, the vocabulary size before the reward tokens (π₀'s).
    pub fn original_vocab_size(&self) -> usize {
        self.original_vocab
    }

    /// The settings.
    pub fn config(&self) -> &QuarkConfig {
        &self.config
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> u64 {
        self.optim.step
    }

    /// Exploration phases done.
    pub fn phases(&self) -> usize {
        self.phases
    }

    /// The generation settings of exploration and [`Self::generate_best`]: `max_new_tokens`,
    /// temperature 1, no truncation, the tokenizer's EOS as the stop token.
    pub fn generation(&self) -> GenerationConfig {
        GenerationConfig::sampling(self.config.max_new_tokens, 1.0)
    }

    /// One exploration phase on `samples_per_phase` samples, the prompts taken round-robin from
    /// `prompts`: the first call (empty pool) samples π₀ without a reward token, every later call
    /// the policy conditioned on `r_{K−1}`; the samples are scored, added to the pool, and the
    /// pool is re-quantised. Errors: no prompts, a prompt that encodes to nothing or does not fit
    /// the context with `max_new_tokens`, and a failing reward or one returning the wrong number
    /// of scores or a non-finite score (the pool is then unchanged).
    pub fn explore(&mut self, prompts: &[String]) -> Result<ExploreStats> {
        if prompts.is_empty() {
            return Err(PolicyError::invalid("prompts", "no prompts to sample from"));
        }
        let t0 = Instant::now();
        let n = self.config.samples_per_phase;
        let rows: Vec<String> = (0..n).map(|j| prompts[j % prompts.len()].clone()).collect();
        let ids = self.encode(&rows)?;
        let from_initial = self.pool.is_empty();
        let mut rng = self.rng.fork(&format!("explore-{}", self.phases));
        let gens = if from_initial {
            self.sample(&self.reference, &ids, &self.generation(), &mut rng)?
        } else {
            let best = self.reward_token_ids[self.config.num_quantiles - 1];
            let conditioned: Vec<Vec<u32>> = ids.iter().map(|p| condition(best, p)).collect();
            let model = suppress_outputs(&self.policy.valid(), self.original_vocab);
            self.sample(&model, &conditioned, &self.generation(), &mut rng)?
        };
        let responses = gens
            .iter()
            .map(|g| g.text(&self.tokenizer))
            .collect::<rlp_models::Result<Vec<_>>>()?;
        let scores = checked_scores(self.reward.as_ref(), &rows, &responses)?;
        let lengths: usize = gens.iter().map(|g| g.tokens.len()).sum();
        let truncated = gens.iter().filter(|g| !g.finished).count();
        let phase = self.phases;
        let mean_reward = scores.iter().map(|&s| s as f64).sum::<f64>() / n as f64;
        self.pool.extend(
            rows.into_iter()
                .zip(ids)
                .zip(responses)
                .zip(gens)
                .zip(scores)
                .map(
                    |((((prompt, prompt_ids), response), g), reward)| PoolSample {
                        prompt,
                        prompt_ids,
                        response,
                        response_ids: g.tokens,
                        reward,
                        phase,
                    },
                ),
        );
        let quantiles = self.pool.quantize()?.bounds.clone();
        // The pool changed: the next training step starts a fresh shuffled pass.
        self.order.clear();
        self.cursor = 0;
        self.phases += 1;
        Ok(ExploreStats {
            phase,
            from_initial,
            samples: n,
            mean_reward,
            pool_size: self.pool.len(),
            pool_mean_reward: self.pool.mean_reward(),
            quantiles,
            response_len: lengths as f64 / n as f64,
            truncated: truncated as f64 / n as f64,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// `n` AdamW steps on [`quark_loss`] over minibatches of `batch_size` pool samples (seeded
    /// shuffled passes over the pool without replacement; a pass's last incomplete minibatch is
    /// dropped), each sample conditioned on its quantile's reward token. Errors: a pool not yet
    /// explored, and a non-finite loss (the policy is then left unchanged).
    pub fn train_steps(&mut self, n: usize) -> Result<TrainStats> {
        let Some(quantiles) = self.pool.quantiles() else {
            return Err(PolicyError::invalid(
                "pool",
                "no quantised samples yet: call explore first",
            ));
        };
        let assignment = quantiles.assignment.clone();
        let t0 = Instant::now();
        let (beta, alpha, lr) = (
            self.config.kl_beta,
            self.config.entropy_alpha,
            self.config.lr,
        );
        let pad = pad_token(&self.reference, &self.tokenizer);
        let device = self.policy.device();
        let mut sum = QuarkLossStats::default();
        let mut tokens = 0;
        for _ in 0..n {
            let idx = self.next_indices();
            let samples = self.pool.samples();
            let rows: Vec<BatchRow<'_>> = idx
                .iter()
                .map(|&i| BatchRow {
                    prompt: &samples[i].prompt_ids,
                    response: &samples[i].response_ids,
                    reward_token: self.reward_token_ids[assignment[i]],
                })
                .collect();
            let batch = QuarkBatch::new(&rows, pad)?;
            // π₀ runs on its plain device; its logits join the policy's graph as constants
            // on the policy's (autodiff) device, through the host, so that every backend
            // (not only those that mix plain and autodiff tensors) takes them.
            let ref_logits = Tensor::<3>::from_data(
                batch.reference_logits(&self.reference).into_data(),
                &device,
            );
            let logits = batch.policy_logits(&self.policy);
            let (loss, stats) = quark_loss(
                logits,
                ref_logits,
                batch.targets(&device),
                batch.mask(&device),
                beta,
                alpha,
            );
            let (policy, _) = self.optim.minimize(self.policy.clone(), loss, lr)?;
            self.policy = policy;
            sum.loss += stats.loss;
            sum.nll += stats.nll;
            sum.kl += stats.kl;
            sum.entropy += stats.entropy;
            tokens += batch.tokens;
        }
        let k = n.max(1) as f64;
        Ok(TrainStats {
            steps: n,
            total_steps: self.optim.step,
            loss: sum.loss / k,
            nll: sum.nll / k,
            kl: sum.kl / k,
            entropy: sum.entropy / k,
            tokens,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// One exploration phase on `prompts` then `steps_per_phase` training steps.
    pub fn phase(&mut self, prompts: &[String]) -> Result<PhaseStats> {
        let explore = self.explore(prompts)?;
        let train = self.train_steps(self.config.steps_per_phase)?;
        Ok(PhaseStats { explore, train })
    }

    /// One sample per prompt from the policy conditioned on the reward token of `quantile`
    /// (`0` worst … `K−1` best) placed before the prompt, with the reward tokens suppressed as
    /// outputs. Errors: a quantile `≥ K`, a prompt that encodes to nothing or does not fit.
    pub fn generate_conditioned(
        &self,
        prompts: &[String],
        quantile: usize,
        generation: &GenerationConfig,
        rng: &mut SeededRng,
    ) -> Result<Vec<Completion>> {
        let Some(&token) = self.reward_token_ids.get(quantile) else {
            return Err(PolicyError::invalid(
                "quantile",
                format!("{quantile} is not below K = {}", self.config.num_quantiles),
            ));
        };
        let ids = self.encode(prompts)?;
        let conditioned: Vec<Vec<u32>> = ids.iter().map(|p| condition(token, p)).collect();
        let model = suppress_outputs(&self.policy.valid(), self.original_vocab);
        let gens = self.sample(&model, &conditioned, generation, rng)?;
        prompts
            .iter()
            .zip(gens)
            .map(|(prompt, g)| {
                Ok(Completion {
                    prompt: prompt.clone(),
                    text: g.text(&self.tokenizer)?,
                    tokens: g.tokens,
                    logprobs: g.logprobs,
                    finished: g.finished,
                })
            })
            .collect()
    }

    /// Quark's inference: one sample per prompt conditioned on the best reward token
    /// `r_{K−1}`, with [`Self::generation`]'s settings.
    pub fn generate_best(
        &self,
        prompts: &[String],
        rng: &mut SeededRng,
    ) -> Result<Vec<Completion>> {
        self.generate_conditioned(
            prompts,
            self.config.num_quantiles - 1,
            &self.generation(),
            rng,
        )
    }

    /// The prompts' ids, each non-empty.
    fn encode(&self, prompts: &[String]) -> Result<Vec<Vec<u32>>> {
        encode_prompts(&self.tokenizer, prompts)
    }

    /// One continuation per prompt from `model` (plain device).
    fn sample(
        &self,
        model: &CausalLm,
        prompts: &[Vec<u32>],
        generation: &GenerationConfig,
        rng: &mut SeededRng,
    ) -> Result<Vec<Generation>> {
        Ok(generate_with_tokenizer(
            model,
            &self.tokenizer,
            prompts,
            generation,
            rng,
        )?)
    }

    /// The next minibatch of pool indices: a seeded shuffled pass over the pool, reshuffled
    /// when fewer than `batch_size` indices are left.
    fn next_indices(&mut self) -> Vec<usize> {
        let n = self.pool.len();
        let b = self.config.batch_size.min(n);
        if self.order.len() != n || self.cursor + b > n {
            self.order = (0..n).collect();
            self.rng
                .fork(&format!("minibatches-{}", self.epochs))
                .shuffle(&mut self.order);
            self.epochs += 1;
            self.cursor = 0;
        }
        let idx = self.order[self.cursor..self.cursor + b].to_vec();
        self.cursor += b;
        idx
    }
}
