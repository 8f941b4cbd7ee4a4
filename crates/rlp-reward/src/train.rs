//! Bradley–Terry training of a [`RewardModel`] on preference pairs with AdamW: seeded shuffling
//! each epoch, linear warm-up then linear decay, one callback per step for progress bars and
//! metrics sinks.

use std::time::Instant;

use rlp_core::PreferencePair;
use rlp_core::tensor_io::{floats, to_f32};
use rlp_models::optim::require_autodiff;
use rlp_models::{OptimConfig, TextTokenizer};

use crate::bradley_terry::{BtConfig, bt_loss, pair_accuracy};
use crate::encode::{Overlong, SkipCounts, collate_scores, encode_pairs};
use crate::epochs::{EpochPlan, run_epochs};
use crate::error::{Result, RewardError};
use crate::model::RewardModel;

/// Every setting of a reward-model training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmTrainConfig {
    /// Passes over the training pairs.
    pub epochs: usize,
    /// Pairs per step (each step scores `2 × batch_size` sequences).
    pub batch_size: usize,
    /// Peak learning rate (linear warm-up over the first 5% of steps, then linear decay to 10%).
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Global gradient-norm clip (`None`: off).
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

/// What the per-step callback receives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Steps done (1-based).
    pub step: usize,
    /// Steps in the run.
    pub total: usize,
    /// The batch's loss before the update.
    pub loss: f64,
    /// The batch's pairwise accuracy before the update.
    pub accuracy: f64,
    /// The learning rate used.
    pub lr: f64,
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

/// Trains `model` (on an autodiff device) on `pairs`; `on_step` sees every step. Returns the
/// trained model and the report. Deterministic for a given seed and backend.
pub fn train_reward_model(
    model: RewardModel,
    tokenizer: &TextTokenizer,
    pairs: &[PreferencePair],
    config: &RmTrainConfig,
    on_step: &mut dyn FnMut(&StepInfo),
) -> Result<(RewardModel, RmTrainReport)> {
    require_autodiff(&model, "reward model")?;
    if config.batch_size == 0 || config.epochs == 0 || config.max_len == 0 {
        return Err(RewardError::invalid(
            "batch_size/epochs/max_len",
            "must be positive",
        ));
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(RewardError::invalid(
            "lr",
            format!("{} is not positive", config.lr),
        ));
    }
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
    let plan = EpochPlan {
        examples: enc.len(),
        batch_size: config.batch_size,
        epochs: config.epochs,
        optim: OptimConfig {
            lr: config.lr,
            weight_decay: config.weight_decay,
            max_grad_norm: config.max_grad_norm,
        },
        seed: config.seed,
        stream: "reward-train",
    };
    let start = Instant::now();
    let batch = |model: &RewardModel, idx: &[usize]| {
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
        (bt_loss(r_w, r_l, margin, &config.bt), accuracy)
    };
    let (model, done) = run_epochs(model, &plan, batch, on_step)?;
    Ok((
        model,
        RmTrainReport {
            steps: done.steps,
            pairs: enc.len(),
            skipped,
            last_epoch_loss: done.last_epoch_loss,
            last_epoch_accuracy: done.last_epoch_accuracy,
            seconds: start.elapsed().as_secs_f64(),
        },
    ))
}
