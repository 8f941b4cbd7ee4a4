//! Supervised fine-tuning as an [`EpochTrainer`]: minibatches of prompt/response token pairs
//! drawn as a stream of full batches ([`crate::PlanLength::Steps`]), loss the response-masked
//! negative log-likelihood `−mean_{t ∈ response} log π(y_t | y_<t)` ([`response_nll`]).

use std::cell::Cell;
use std::rc::Rc;

use crate::{OptimConfig, collate_sft, response_nll, response_targets};
use burn::module::Module;
use rlp_models::CausalLm;

use crate::epoch_trainer::{BatchFn, EpochTrainer};
use crate::error::{Result, TrainError};
use crate::plan::EpochPlan;

/// The SFT trainer [`sft_trainer`] builds.
pub type SftTrainer = EpochTrainer<CausalLm, BatchFn<CausalLm, TrainError>, TrainError>;

/// How an SFT run walks its data.
#[derive(Debug, Clone, PartialEq)]
pub struct SftPlan {
    /// Optimiser steps.
    pub steps: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Peak learning rate (linear warm-up over 5% of the steps, then linear decay to 10%).
    pub lr: f64,
    /// Seed of the data order.
    pub seed: u64,
    /// Pad id of the collated batches.
    pub pad: u32,
    /// Longest prompt + response in tokens.
    pub max_len: usize,
}

/// The trainer of `model` (on an autodiff device) on `(prompt ids, response ids + eos)`
/// examples, and a counter of the response tokens it has trained on (for a tokens-per-second
/// display). AdamW's other settings are [`OptimConfig::default`]'s.
pub fn sft_trainer(
    model: CausalLm,
    examples: Vec<(Vec<u32>, Vec<u32>)>,
    plan: &SftPlan,
) -> Result<(SftTrainer, Rc<Cell<usize>>)> {
    let device = model
        .devices()
        .into_iter()
        .next()
        .ok_or_else(|| TrainError::invalid("model", "has no parameters on any device"))?;
    let order = EpochPlan::steps(
        examples.len(),
        plan.batch_size,
        plan.steps,
        plan.seed,
        "data",
    );
    // The loss is a mean over response tokens: data-parallel shards weigh their token counts.
    let targets: Vec<usize> = examples
        .iter()
        .map(|(p, r)| response_targets(p.len(), r.len()))
        .collect();
    let tokens = Rc::new(Cell::new(0usize));
    let seen = tokens.clone();
    let (pad, max_len) = (plan.pad, plan.max_len);
    let batch: BatchFn<CausalLm, TrainError> = Box::new(move |model: &CausalLm, idx: &[usize]| {
        let chosen: Vec<(Vec<u32>, Vec<u32>)> = idx.iter().map(|&i| examples[i].clone()).collect();
        let b = collate_sft(&chosen, pad, max_len, &device)?;
        seen.set(seen.get() + b.response_tokens);
        Ok((response_nll(model, &b), f64::NAN))
    });
    let optim = OptimConfig {
        lr: plan.lr,
        ..OptimConfig::default()
    };
    let trainer = EpochTrainer::new(model, order, optim, batch)?
        .with_weight(move |idx| idx.iter().map(|&i| targets[i]).sum::<usize>() as f64);
    Ok((trainer, tokens))
}
