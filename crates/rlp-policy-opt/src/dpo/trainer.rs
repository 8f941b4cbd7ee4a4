//! [`DpoTrainer`]: DPO on preference pairs with AdamW, a frozen reference model and a seeded
//! data order.

use rlp_core::With;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use rlp_core::PreferencePair;
use rlp_core::tensor_io::{floats, to_f32};
use rlp_models::{CausalLm, TextTokenizer};
use rlp_reward::SkipCounts;
use rlp_train::optim::{require_autodiff, warmup_linear_decay};
use rlp_train::{AdamW, OptimConfig, collate_sft};
use rlp_train::{
    EpochPlan, PlanCursor, TrainError, Trainer, load_weights_and_moments, read_state,
    save_weights_and_moments, write_state,
};

use super::encode::{EncodedPreference, encode_preferences, rows, sequence_logprobs};
use super::loss::{DpoLossStats, dpo_loss};
use crate::error::{PolicyError, Result};

/// Every setting of a DPO run (defaults: the DPO paper's β = 0.1, lr 1e-6, batch 64; tiny
/// models need a far larger learning rate, ~1e-3).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DpoConfig {
    /// β: strength of the implicit KL constraint to the reference model. Configs may still say
    /// `beta` (deprecated).
    #[serde(alias = "beta")]
    pub kl_beta: f64,
    /// ε ∈ [0, ½): the probability that a label is flipped (conservative DPO; 0 = plain DPO).
    pub label_smoothing: f64,
    /// Peak learning rate (linear warm-up over the first 5% of [`DpoTrainer::train`]'s steps,
    /// then linear decay to 10%; [`DpoTrainer::step`] uses it as is).
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip (`None`: off; see `rlp_train::OptimConfig`).
    pub max_grad_norm: Option<f32>,
    /// Pairs per step (each step runs `2 × batch_size` sequences through both models).
    pub batch_size: usize,
    /// Passes over the pairs in [`DpoTrainer::train`].
    pub epochs: usize,
    /// Longest prompt + response (+ eos) in tokens; longer pairs are skipped and counted.
    pub max_len: usize,
    /// Seed of the data order.
    pub seed: u64,
}

impl Default for DpoConfig {
    fn default() -> Self {
        Self {
            kl_beta: 0.1,
            label_smoothing: 0.0,
            lr: 1e-6,
            weight_decay: 0.0,
            max_grad_norm: Some(10.0),
            batch_size: 64,
            epochs: 1,
            max_len: 512,
            seed: 0,
        }
    }
}

impl DpoConfig {
    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: String| Err(PolicyError::invalid(field, message));
        if !(self.kl_beta.is_finite() && self.kl_beta > 0.0) {
            return bad("kl_beta", format!("{} is not positive", self.kl_beta));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return bad(
                "label_smoothing",
                format!("{} is not in [0, 0.5)", self.label_smoothing),
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{} is not positive", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("{} is negative", self.weight_decay));
        }
        if let Some(n) = self.max_grad_norm.filter(|n| !(n.is_finite() && *n > 0.0)) {
            return bad("max_grad_norm", format!("{n} is not positive"));
        }
        for (field, value, min) in [
            ("batch_size", self.batch_size, 1),
            ("epochs", self.epochs, 1),
            ("max_len", self.max_len, 2),
        ] {
            if value < min {
                return bad(field, format!("{value} is below {min}"));
            }
        }
        Ok(())
    }
}

/// What one step reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DpoStepStats {
    /// Steps taken so far, this one included.
    pub step: u64,
    /// The loss before the update.
    pub loss: f64,
    /// Margin, accuracy and implicit rewards of the batch before the update.
    pub stats: DpoLossStats,
    /// Pairs in the step.
    pub pairs: usize,
    /// Pairs of the step's input that were left out (always zero inside [`DpoTrainer::train`],
    /// which encodes the data once and reports its skips in [`DpoReport`]).
    pub skipped: SkipCounts,
    /// The learning rate used.
    pub lr: f64,
}

/// The loss and statistics of the current policy on a set of pairs, without an update.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DpoEval {
    /// Mean DPO loss.
    pub loss: f64,
    /// Mean margin, accuracy and implicit rewards.
    pub stats: DpoLossStats,
    /// Pairs evaluated.
    pub pairs: usize,
    /// Pairs left out, and why.
    pub skipped: SkipCounts,
}

/// What [`DpoTrainer::train`] reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DpoReport {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Pairs trained on (after skips).
    pub pairs: usize,
    /// Pairs left out, and why.
    pub skipped: SkipCounts,
    /// Mean loss over the last epoch.
    pub last_epoch_loss: f64,
    /// Mean margin `β Δ` over the last epoch (before each update).
    pub last_epoch_margin: f64,
    /// Mean accuracy over the last epoch (before each update).
    pub last_epoch_accuracy: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// DPO: the policy (on an autodiff device) is trained with [`dpo_loss`] against a frozen
/// reference model (kept on its plain device).
pub struct DpoTrainer {
    /// The policy being trained.
    pub policy: CausalLm,
    /// The frozen reference `π_ref` (plain device).
    pub reference: CausalLm,
    /// The optimiser (steps taken in `optim.step`).
    pub optim: AdamW,
    /// The settings.
    pub config: DpoConfig,
    tokenizer: TextTokenizer,
}

impl DpoTrainer {
    /// A trainer for `policy` (on an autodiff device) against `reference` (any device; stored
    /// with `valid()`), usually the same initial model. Errors: an invalid config, a policy not
    /// on an autodiff device, a tokenizer larger than either vocabulary, or a `max_len` beyond
    /// the policy's context window.
    pub fn new(
        policy: CausalLm,
        reference: &CausalLm,
        tokenizer: TextTokenizer,
        config: DpoConfig,
    ) -> Result<Self> {
        config.validate()?;
        require_autodiff(&policy, "policy")?;
        tokenizer.check_model_vocab(policy.config.vocab_size)?;
        tokenizer.check_model_vocab(reference.config.vocab_size)?;
        let context = policy.config.max_position_embeddings;
        if config.max_len > context {
            return Err(PolicyError::invalid(
                "max_len",
                format!(
                    "{} exceeds the policy's context window {context}",
                    config.max_len
                ),
            ));
        }
        let optim = AdamW::new(OptimConfig::default().with(|c| {
            c.lr = config.lr;
            c.weight_decay = config.weight_decay;
            c.max_grad_norm = config.max_grad_norm;
        }));
        Ok(Self {
            policy,
            reference: reference.valid(),
            optim,
            config,
            tokenizer,
        })
    }

    /// One update on `pairs` at the configured learning rate. Unusable pairs are skipped and
    /// counted; if none is left the step is an error and nothing changes. A non-finite loss is
    /// an error and leaves the policy unchanged.
    pub fn step(&mut self, pairs: &[PreferencePair]) -> Result<DpoStepStats> {
        let (enc, skipped) = encode_preferences(&self.tokenizer, pairs, self.config.max_len)?;
        if enc.is_empty() {
            return Err(PolicyError::NoPairs {
                what: "the step's batch".into(),
                skipped: skipped.to_string(),
            });
        }
        let refs: Vec<&EncodedPreference> = enc.iter().collect();
        let mut stats = self.update(&refs, self.config.lr)?;
        stats.skipped = skipped;
        Ok(stats)
    }

    /// Trains on `pairs` for `config.epochs` epochs of seeded-shuffled minibatches with linear
    /// warm-up then decay ([`DpoRun`] to the end); `on_step` sees every step. Deterministic for
    /// a seed and backend.
    pub fn train(
        self,
        pairs: &[PreferencePair],
        on_step: &mut dyn FnMut(&DpoStepStats),
    ) -> Result<(Self, DpoReport)> {
        let start = Instant::now();
        let mut run = DpoRun::new(self, pairs)?;
        while run.steps_done() < run.total_steps() {
            on_step(&run.step()?);
        }
        let report = run.report(start.elapsed().as_secs_f64());
        Ok((run.trainer, report))
    }

    /// The current policy's loss and statistics on `pairs` (in minibatches of `batch_size`,
    /// without autodiff), averaged over pairs. No usable pair is an error.
    pub fn evaluate(&self, pairs: &[PreferencePair]) -> Result<DpoEval> {
        let (enc, skipped) = encode_preferences(&self.tokenizer, pairs, self.config.max_len)?;
        if enc.is_empty() {
            return Err(PolicyError::NoPairs {
                what: "the evaluation set".into(),
                skipped: skipped.to_string(),
            });
        }
        let policy = self.policy.valid();
        let mut sum = DpoEval {
            loss: 0.0,
            stats: DpoLossStats::default(),
            pairs: enc.len(),
            skipped,
        };
        for chunk in enc.chunks(self.config.batch_size) {
            let batch: Vec<&EncodedPreference> = chunk.iter().collect();
            let (loss, s) = self.batch_loss(&policy, &batch)?;
            let w = batch.len() as f64 / enc.len() as f64;
            sum.loss += to_f32(loss)[0] as f64 * w;
            sum.stats.margin += s.margin * w;
            sum.stats.accuracy += s.accuracy * w;
            sum.stats.chosen_reward += s.chosen_reward * w;
            sum.stats.rejected_reward += s.rejected_reward * w;
        }
        Ok(sum)
    }

    /// One AdamW step on a batch at learning rate `lr`.
    fn update(&mut self, batch: &[&EncodedPreference], lr: f64) -> Result<DpoStepStats> {
        let (loss, mut stats) = self.batch_loss(&self.policy, batch)?;
        // Under data parallelism `batch` is this rank's shard: the loss, the gradient and the
        // statistics become the global minibatch's, each shard weighted by its pairs.
        let weight = batch.len() as f64;
        let (policy, value) =
            self.optim
                .minimize_weighted(self.policy.clone(), loss, lr, weight)?;
        self.policy = policy;
        stats.average_over_ranks(weight);
        Ok(DpoStepStats {
            step: self.optim.step,
            loss: value,
            stats,
            pairs: batch.len(),
            skipped: SkipCounts::default(),
            lr,
        })
    }

    /// The DPO loss of `policy` against the reference on a batch.
    fn batch_loss(
        &self,
        policy: &CausalLm,
        batch: &[&EncodedPreference],
    ) -> Result<(burn::tensor::Tensor<1>, DpoLossStats)> {
        let n = batch.len();
        let examples = rows(batch);
        let pad = self.tokenizer.pad_id.unwrap_or(0);
        let device = policy.device();
        let logp = sequence_logprobs(
            policy,
            &collate_sft(&examples, pad, self.config.max_len, &device)?,
        );
        let ref_device = self.reference.device();
        let ref_logp = to_f32(sequence_logprobs(
            &self.reference,
            &collate_sft(&examples, pad, self.config.max_len, &ref_device)?,
        ));
        let (ref_chosen, ref_rejected) = ref_logp.split_at(n);
        Ok(dpo_loss(
            logp.clone().slice(0..n),
            logp.slice(n..2 * n),
            floats(ref_chosen.to_vec(), [n], &device),
            floats(ref_rejected.to_vec(), [n], &device),
            self.config.kl_beta,
            self.config.label_smoothing,
        ))
    }
}

/// Running sums over the current epoch of a [`DpoRun`].
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct DpoSums {
    epoch: usize,
    steps: usize,
    loss: f64,
    margin: f64,
    accuracy: f64,
}

/// The `state.json` of a [`DpoRun`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct DpoState {
    step: usize,
    optimizer_steps: u64,
    plan: EpochPlan,
    sums: DpoSums,
}

/// DPO over a dataset as a resumable [`Trainer`]: the pairs are encoded once, walked in the
/// epochs of an [`EpochPlan`] (stream `dpo-train`), each step one AdamW update at the
/// warm-up-then-decay learning rate. Its state is the policy's weights, AdamW's moments, the
/// step and the epoch sums (the reference is frozen and rebuilt from the same start).
pub struct DpoRun {
    /// The trainer (policy, reference, optimiser, settings).
    pub trainer: DpoTrainer,
    enc: Vec<EncodedPreference>,
    skipped: SkipCounts,
    cursor: PlanCursor,
    done: usize,
    sums: DpoSums,
}

impl DpoRun {
    /// Encodes `pairs` (unusable ones skipped and counted; none left is an error) for
    /// `trainer`'s config.
    pub fn new(trainer: DpoTrainer, pairs: &[PreferencePair]) -> Result<Self> {
        let (enc, skipped) = encode_preferences(&trainer.tokenizer, pairs, trainer.config.max_len)?;
        if enc.is_empty() {
            return Err(PolicyError::NoPairs {
                what: "the training set".into(),
                skipped: skipped.to_string(),
            });
        }
        let c = &trainer.config;
        let plan = EpochPlan::epochs(enc.len(), c.batch_size, c.epochs, c.seed, "dpo-train");
        plan.check_shardable()?;
        Ok(Self {
            cursor: plan.cursor(),
            trainer,
            enc,
            skipped,
            done: 0,
            sums: DpoSums::default(),
        })
    }

    /// The report of the run so far: steps, data, and the last epoch's means.
    pub fn report(&self, seconds: f64) -> DpoReport {
        let s = self.sums;
        let n = s.steps.max(1) as f64;
        DpoReport {
            steps: self.done,
            pairs: self.enc.len(),
            skipped: self.skipped.clone(),
            last_epoch_loss: s.loss / n,
            last_epoch_margin: s.margin / n,
            last_epoch_accuracy: s.accuracy / n,
            seconds,
        }
    }
}

impl Trainer for DpoRun {
    type Stats = DpoStepStats;
    type Error = PolicyError;

    fn total_steps(&self) -> usize {
        self.cursor.plan().total_steps()
    }

    fn steps_done(&self) -> usize {
        self.done
    }

    fn step(&mut self) -> Result<DpoStepStats> {
        let s = self.done;
        let global = self.cursor.indices(s);
        let lr = warmup_linear_decay(s, self.total_steps(), self.trainer.config.lr);
        let batch: Vec<&EncodedPreference> = rlp_core::parallel::shard(&global)
            .iter()
            .map(|&j| &self.enc[j])
            .collect();
        let mut stats = self.trainer.update(&batch, lr)?;
        stats.pairs = global.len();
        let epoch = self.cursor.plan().epoch_of(s);
        if epoch != self.sums.epoch || self.sums.steps == 0 {
            self.sums = DpoSums {
                epoch,
                ..DpoSums::default()
            };
        }
        self.sums.steps += 1;
        self.sums.loss += stats.loss;
        self.sums.margin += stats.stats.margin;
        self.sums.accuracy += stats.stats.accuracy;
        self.done += 1;
        Ok(stats)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        save_weights_and_moments(dir, &self.trainer.policy, &self.trainer.optim)?;
        let state = DpoState {
            step: self.done,
            optimizer_steps: self.trainer.optim.step,
            plan: self.cursor.plan().clone(),
            sums: self.sums,
        };
        Ok(write_state(dir, &state)?)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        let state: DpoState = read_state(dir)?;
        if &state.plan != self.cursor.plan() {
            return Err(TrainError::state(
                &dir.join("state.json"),
                "written for another plan (the same pairs, batch size, epochs and seed are \
                 needed to resume)",
            )
            .into());
        }
        let t = &mut self.trainer;
        t.policy =
            load_weights_and_moments(dir, t.policy.clone(), &mut t.optim, state.optimizer_steps)?;
        self.done = state.step;
        self.sums = state.sums;
        self.cursor.seek(state.step);
        Ok(())
    }
}
