//! The epoch loop every trainer in this crate shares: a seeded shuffle of the example indices
//! each epoch, minibatches of them, AdamW with linear warm-up then linear decay, and one
//! [`StepInfo`] per step. The caller supplies the batch's loss and accuracy. Other crates'
//! reward-model trainers (RLP-UML in `rlp-ib`) reuse it.

use burn::module::Module;
use burn::tensor::Tensor;
use rlp_core::SeededRng;
use rlp_models::optim::warmup_linear_decay;
use rlp_models::{AdamW, OptimConfig};

use crate::error::Result;
use crate::train::StepInfo;

/// How to walk the data.
pub struct EpochPlan {
    /// Examples (indices `0..examples`).
    pub examples: usize,
    /// Indices per step.
    pub batch_size: usize,
    /// Passes over the examples.
    pub epochs: usize,
    /// The optimiser (its `lr` is the schedule's peak).
    pub optim: OptimConfig,
    /// Seed of the order, and the name of its RNG stream.
    pub seed: u64,
    /// The RNG stream's name.
    pub stream: &'static str,
}

/// What the loop reports: steps taken, and the mean loss and accuracy over the last epoch.
pub struct EpochOutcome {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Mean loss over the last epoch.
    pub last_epoch_loss: f64,
    /// Mean batch accuracy over the last epoch.
    pub last_epoch_accuracy: f64,
}

/// Runs `plan`; `batch(model, indices)` returns the loss to minimise and the batch's accuracy.
pub fn run_epochs<M: Module>(
    model: M,
    plan: &EpochPlan,
    mut batch: impl FnMut(&M, &[usize]) -> (Tensor<1>, f64),
    on_step: &mut dyn FnMut(&StepInfo),
) -> Result<(M, EpochOutcome)> {
    let per_epoch = plan.examples.div_ceil(plan.batch_size);
    let total = per_epoch * plan.epochs;
    let mut optim = AdamW::new(plan.optim.clone());
    let mut rng = SeededRng::new(plan.seed).fork(plan.stream);
    let mut order: Vec<usize> = (0..plan.examples).collect();
    let mut model = model;
    let (mut loss_sum, mut acc_sum, mut in_epoch) = (0.0, 0.0, 0usize);
    for epoch in 0..plan.epochs {
        rng.shuffle(&mut order);
        (loss_sum, acc_sum, in_epoch) = (0.0, 0.0, 0);
        for (i, idx) in order.chunks(plan.batch_size).enumerate() {
            let step = epoch * per_epoch + i;
            let (loss, accuracy) = batch(&model, idx);
            let lr = warmup_linear_decay(step, total, plan.optim.lr);
            let (m, value) = optim.minimize(model, loss, lr)?;
            model = m;
            loss_sum += value;
            acc_sum += accuracy;
            in_epoch += 1;
            on_step(&StepInfo {
                step: step + 1,
                total,
                loss: value,
                accuracy,
                lr,
            });
        }
    }
    Ok((
        model,
        EpochOutcome {
            steps: total,
            last_epoch_loss: loss_sum / in_epoch.max(1) as f64,
            last_epoch_accuracy: acc_sum / in_epoch.max(1) as f64,
        },
    ))
}
