//! Bradley–Terry training of a [`RewardModel`] on preference pairs: an
//! [`rlp_train::EpochTrainer`] (seeded shuffling each epoch, AdamW with linear warm-up then
//! linear decay) whose minibatch loss is [`bt_loss`]. [`reward_trainer`] builds the resumable
//! trainer a run directory drives; [`train_reward_model`] runs it to the end in memory.

use rlp_core::With;
use std::time::Instant;

use rlp_core::PreferencePair;
use rlp_core::tensor_io::{floats, to_f32};
use rlp_models::TextTokenizer;
use rlp_train::OptimConfig;
use rlp_train::optim::require_autodiff;
use rlp_train::{BatchFn, EpochPlan, EpochTrainer, StepInfo, Trainer};

use crate::bradley_terry::{BtConfig, bt_loss, pair_accuracy};
use crate::encode::{Overlong, SkipCounts, collate_scores, encode_pairs};
use crate::error::{Result, RewardError};
use crate::model::RewardModel;

/// Every setting of a reward-model training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RmTrainConfig {
    /// Passes over the training pairs.
    pub epochs: usize,
    /// Pairs per step (each step scores `2 × batch_size` sequences).
    pub batch_size: usize,
    /// Peak learning rate (linear warm-up over the first 5% of steps, then linear decay to 10%).
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip (`None`: off; see `rlp_train::OptimConfig`).
    pub max_grad_norm: Option<f32>,
    /// The loss (L2 on scores; margins come from the pairs).
    pub bt: BtConfig,
    /// Context length in tokens.
    pub max_len: usize,
    /// What to do with longer texts.
    pub overlong: Overlong,
    /// Seed of the data order.
    pub seed: u64,
}

impl Default for RmTrainConfig {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 16,
            lr: 1e-4,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            bt: BtConfig::default(),
            max_len: 128,
            overlong: Overlong::Skip,
            seed: 0,
        }
    }
}

/// What a run reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RmTrainReport {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Pairs trained on (after skips).
    pub pairs: usize,
    /// Pairs left out, and why.
    pub skipped: SkipCounts,
    /// Mean loss over the last epoch.
    pub last_epoch_loss: f64,
    /// Mean batch accuracy over the last epoch (before each update).
    pub last_epoch_accuracy: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A minibatch loss of a reward model: `(loss, pairwise accuracy)` of the pairs at the indices.
pub type RmBatchLoss = BatchFn<RewardModel, RewardError>;

/// The resumable Bradley–Terry trainer [`reward_trainer`] builds.
pub type RmTrainer = EpochTrainer<RewardModel, RmBatchLoss, RewardError>;

/// The data a [`RmTrainer`] was built on.
#[derive(Debug, Clone, PartialEq)]
pub struct RmTrainData {
    /// Pairs trained on (after skips).
    pub pairs: usize,
    /// Pairs left out, and why.
    pub skipped: SkipCounts,
}

impl RmTrainConfig {
    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("batch_size", self.batch_size),
            ("epochs", self.epochs),
            ("max_len", self.max_len),
        ] {
            if value == 0 {
                return Err(RewardError::invalid(field, "must be at least 1"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(RewardError::invalid(
                "lr",
                format!("{} is not a positive learning rate", self.lr),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(RewardError::invalid(
                "weight_decay",
                format!("{} is not a finite non-negative number", self.weight_decay),
            ));
        }
        if let Some(n) = self.max_grad_norm.filter(|n| !(n.is_finite() && *n > 0.0)) {
            return Err(RewardError::invalid(
                "max_grad_norm",
                format!("{n} is not positive"),
            ));
        }
        Ok(())
    }

    /// The optimiser these settings describe.
    pub fn optim(&self) -> OptimConfig {
        OptimConfig::default().with(|c| {
            c.lr = self.lr;
            c.weight_decay = self.weight_decay;
            c.max_grad_norm = self.max_grad_norm;
        })
    }
}

/// Builds the trainer of `model` (on an autodiff device) on `pairs`: they are encoded once
/// (unusable ones skipped and counted), and each step's loss is the Bradley–Terry loss of a
/// minibatch of them. Deterministic for a given seed and backend, and resumable.
pub fn reward_trainer(
    model: RewardModel,
    tokenizer: &TextTokenizer,
    pairs: &[PreferencePair],
    config: &RmTrainConfig,
) -> Result<(RmTrainer, RmTrainData)> {
    require_autodiff(&model, "reward model")?;
    config.validate()?;
    tokenizer.check_model_vocab(model.backbone.config.vocab_size)?;
    let (enc, skipped) = encode_pairs(tokenizer, pairs, config.max_len, config.overlong)?;
    if enc.is_empty() {
        return Err(RewardError::NoPairs {
            what: "the training set".into(),
            skipped: skipped.to_string(),
        });
    }
    let device = model.backbone.device();
    let pad = tokenizer.pad_id.unwrap_or(0);
    let plan = EpochPlan::epochs(
        enc.len(),
        config.batch_size,
        config.epochs,
        config.seed,
        "reward-train",
    );
    let data = RmTrainData {
        pairs: enc.len(),
        skipped,
    };
    let bt = config.bt.clone();
    let batch: RmBatchLoss = Box::new(move |model: &RewardModel, idx: &[usize]| {
        let n = idx.len();
        let seqs: Vec<&[u32]> = idx
            .iter()
            .map(|&j| enc[j].chosen.as_slice())
            .chain(idx.iter().map(|&j| enc[j].rejected.as_slice()))
            .collect();
        let scores = model.score(&collate_scores(&seqs, pad, &device));
        let r_w = scores.clone().slice(0..n);
        let r_l = scores.slice(n..2 * n);
        let margins: Vec<f32> = idx.iter().map(|&j| enc[j].margin).collect();
        let margin = margins
            .iter()
            .any(|&m| m != 0.0)
            .then(|| floats(margins, [n], &device));
        let accuracy = pair_accuracy(&to_f32(r_w.clone().detach()), &to_f32(r_l.clone().detach()));
        Ok((bt_loss(r_w, r_l, margin, &bt), accuracy))
    });
    let trainer = EpochTrainer::new(model, plan, config.optim(), batch)?;
    Ok((trainer, data))
}

/// Trains `model` (on an autodiff device) on `pairs` to the end of the plan; `on_step` sees
/// every step. Returns the trained model and the report. Deterministic for a given seed and
/// backend.
pub fn train_reward_model(
    model: RewardModel,
    tokenizer: &TextTokenizer,
    pairs: &[PreferencePair],
    config: &RmTrainConfig,
    on_step: &mut dyn FnMut(&StepInfo),
) -> Result<(RewardModel, RmTrainReport)> {
    let start = Instant::now();
    let (mut trainer, data) = reward_trainer(model, tokenizer, pairs, config)?;
    while trainer.steps_done() < trainer.total_steps() {
        on_step(&trainer.step()?);
    }
    Ok(report_of(trainer, data, start.elapsed().as_secs_f64()))
}

/// The trained model and the report of a finished [`RmTrainer`] that ran `seconds`.
pub fn report_of(
    trainer: RmTrainer,
    data: RmTrainData,
    seconds: f64,
) -> (RewardModel, RmTrainReport) {
    let done = trainer.outcome();
    (
        trainer.into_model(),
        RmTrainReport {
            steps: done.steps,
            pairs: data.pairs,
            skipped: data.skipped,
            last_epoch_loss: done.last_epoch_loss,
            last_epoch_accuracy: done.last_epoch_accuracy,
            seconds,
        },
    )
}
