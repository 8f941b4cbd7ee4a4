//! [`EpochTrainer`]: the trainer every minibatch method shares — the minibatches of an
//! [`EpochPlan`], AdamW with linear warm-up then linear decay, one [`StepInfo`] per step. The
//! method supplies only the loss of a minibatch (and an accuracy to report): supervised
//! fine-tuning, reward models, classifiers, DPO and RLP-UML are each one closure.
//!
//! Its state (weights with their parameter ids, AdamW's moments and step count, the step, the
//! running epoch averages) is all the next step depends on, because the plan derives the data
//! position from the step; a restored trainer continues bit for bit.

use std::marker::PhantomData;
use std::path::Path;

use crate::optim::{load_module, require_autodiff, save_module, warmup_linear_decay};
use crate::{AdamW, OptimConfig};
use burn::module::Module;
use burn::tensor::Tensor;
use rlp_core::parallel;
use rlp_models::ModelError;

use crate::error::TrainError;
use crate::plan::{EpochPlan, PlanCursor};
use crate::run_dir::STATE_FILE;
use crate::trainer::Trainer;

/// What a shard of a minibatch weighs in the data-parallel average of the ranks' losses: the
/// number of units its loss is a mean over (see [`EpochTrainer::with_weight`]).
pub type ShardWeight = Box<dyn Fn(&[usize]) -> f64>;

/// A minibatch loss behind a box, so that trainers built by a function have a type to name:
/// `batch(model, indices)` is the minibatch's loss and accuracy.
pub type BatchFn<M, E> = Box<dyn FnMut(&M, &[usize]) -> Result<(Tensor<1>, f64), E>>;

/// What one step reports (one line of `metrics.jsonl`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepInfo {
    /// Steps done (1-based).
    pub step: usize,
    /// Steps in the run.
    #[serde(skip)]
    pub total: usize,
    /// The minibatch's loss before the update.
    pub loss: f64,
    /// The minibatch's accuracy before the update (what "accuracy" means is the method's; NaN
    /// for a method without one, which then leaves it out of `metrics.jsonl`).
    #[serde(skip_serializing_if = "is_nan")]
    pub accuracy: f64,
    /// The learning rate used.
    pub lr: f64,
}

/// Whether `x` is NaN (serde's field test takes a reference).
fn is_nan(x: &f64) -> bool {
    x.is_nan()
}

/// What a finished plan reports: steps taken, and the mean loss and accuracy over the last
/// epoch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochOutcome {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Mean loss over the last epoch.
    pub last_epoch_loss: f64,
    /// Mean minibatch accuracy over the last epoch (NaN for a method without one).
    pub last_epoch_accuracy: f64,
}

/// Running sums over the current epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct EpochSums {
    epoch: usize,
    loss: f64,
    steps: usize,
    /// The sum of the steps' accuracies, over the steps that have one (not NaN).
    accuracy: f64,
    accuracy_steps: usize,
}

/// The `state.json` of an [`EpochTrainer`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct EpochState {
    step: usize,
    optimizer_steps: u64,
    plan: EpochPlan,
    sums: EpochSums,
}

const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "adamw.bpk";

/// A minibatch trainer of the module `M`: `batch(model, indices)` returns the minibatch's loss
/// to minimise and its accuracy, or the method's error `E`.
pub struct EpochTrainer<M, B, E> {
    model: Option<M>,
    weight: Option<ShardWeight>,
    optim: AdamW,
    cursor: PlanCursor,
    batch: B,
    peak_lr: f64,
    done: usize,
    sums: EpochSums,
    error: PhantomData<fn() -> E>,
}

impl<M, B, E> EpochTrainer<M, B, E>
where
    M: Module,
    B: FnMut(&M, &[usize]) -> Result<(Tensor<1>, f64), E>,
    E: From<TrainError>,
{
    /// A trainer at step 0 of `plan`, stepping `model` (on an autodiff device) with AdamW as
    /// `optim` says (its `lr` is the schedule's peak).
    ///
    /// Under data parallelism (`rlp_core::parallel`), each rank passes its shard of every
    /// minibatch to `batch`, and the optimiser averages the ranks' gradients; the minibatch
    /// size must split evenly over the ranks.
    pub fn new(model: M, plan: EpochPlan, optim: OptimConfig, batch: B) -> Result<Self, E> {
        plan.validate()?;
        plan.check_shardable()?;
        if !(optim.lr.is_finite() && optim.lr > 0.0) {
            return Err(TrainError::invalid(
                "lr",
                format!("{} is not a positive learning rate", optim.lr),
            )
            .into());
        }
        require_autodiff(&model, "model").map_err(TrainError::from)?;
        Ok(Self {
            model: Some(model),
            weight: None,
            peak_lr: optim.lr,
            optim: AdamW::new(optim),
            cursor: plan.cursor(),
            batch,
            done: 0,
            sums: EpochSums::default(),
            error: PhantomData,
        })
    }

    /// Weighs each shard's loss by `weight(shard indices)` in the data-parallel average, for a
    /// loss that is a mean over something other than examples (the response tokens of a
    /// token-mean NLL): the averaged gradient is then the whole minibatch's. By default a
    /// shard weighs its number of examples. Unused in one process.
    pub fn with_weight(mut self, weight: impl Fn(&[usize]) -> f64 + 'static) -> Self {
        self.weight = Some(Box::new(weight));
        self
    }

    /// The plan.
    pub fn plan(&self) -> &EpochPlan {
        self.cursor.plan()
    }

    /// The module being trained.
    pub fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("the model is present between steps")
    }

    /// The trained module.
    pub fn into_model(self) -> M {
        self.model.expect("the model is present between steps")
    }

    /// Steps taken and the current (at the end: the last) epoch's mean loss and accuracy.
    pub fn outcome(&self) -> EpochOutcome {
        let s = self.sums;
        EpochOutcome {
            steps: self.done,
            last_epoch_loss: s.loss / s.steps.max(1) as f64,
            last_epoch_accuracy: if s.accuracy_steps > 0 {
                s.accuracy / s.accuracy_steps as f64
            } else {
                f64::NAN
            },
        }
    }
}

impl<M, B, E> Trainer for EpochTrainer<M, B, E>
where
    M: Module,
    B: FnMut(&M, &[usize]) -> Result<(Tensor<1>, f64), E>,
    E: From<TrainError> + std::error::Error + Send + Sync + 'static,
{
    type Stats = StepInfo;
    type Error = E;

    fn total_steps(&self) -> usize {
        self.cursor.plan().total_steps()
    }

    fn steps_done(&self) -> usize {
        self.done
    }

    fn step(&mut self) -> Result<StepInfo, E> {
        let (s, total) = (self.done, self.total_steps());
        let global = self.cursor.indices(s);
        let idx = parallel::shard(&global);
        let weight = self.weight.as_ref().map_or(idx.len() as f64, |w| w(idx));
        let model = self
            .model
            .take()
            .expect("the model is present between steps");
        let (loss, accuracy) = match (self.batch)(&model, idx) {
            Ok(out) => out,
            Err(e) => {
                self.model = Some(model);
                return Err(e);
            }
        };
        let lr = warmup_linear_decay(s, total, self.peak_lr);
        let (model, value) = match self.optim.minimize_weighted(model, loss, lr, weight) {
            Ok(out) => out,
            Err(ModelError::NonFiniteLoss { loss, .. }) => {
                return Err(TrainError::NonFinite {
                    step: s + 1,
                    what: "loss".into(),
                    value: loss,
                }
                .into());
            }
            Err(ModelError::NonFiniteGradient { norm, .. }) => {
                return Err(TrainError::NonFinite {
                    step: s + 1,
                    what: "gradient norm".into(),
                    value: norm,
                }
                .into());
            }
            Err(e) => return Err(TrainError::from(e).into()),
        };
        self.model = Some(model);
        let accuracy = mean_over_ranks(accuracy, idx.len() as f64);
        let epoch = self.cursor.plan().epoch_of(s);
        if epoch != self.sums.epoch || self.sums.steps == 0 {
            self.sums = EpochSums {
                epoch,
                ..EpochSums::default()
            };
        }
        self.sums.loss += value;
        self.sums.steps += 1;
        if !accuracy.is_nan() {
            self.sums.accuracy += accuracy;
            self.sums.accuracy_steps += 1;
        }
        self.done += 1;
        Ok(StepInfo {
            step: self.done,
            total,
            loss: value,
            accuracy,
            lr,
        })
    }

    fn save_state(&self, dir: &Path) -> Result<(), E> {
        save_weights_and_moments(dir, self.model(), &self.optim)?;
        let state = EpochState {
            step: self.done,
            optimizer_steps: self.optim.step,
            plan: self.cursor.plan().clone(),
            sums: self.sums,
        };
        write_state(dir, &state).map_err(E::from)
    }

    fn load_state(&mut self, dir: &Path) -> Result<(), E> {
        let state: EpochState = read_state(dir)?;
        if &state.plan != self.cursor.plan() {
            return Err(TrainError::state(
                &dir.join(STATE_FILE),
                format!(
                    "written for the plan {:?}, but this run's is {:?} (same data, batch size, \
                     length and seed are needed to resume)",
                    state.plan,
                    self.cursor.plan()
                ),
            )
            .into());
        }
        let model = self
            .model
            .take()
            .expect("the model is present between steps");
        self.model = Some(load_module(model, &dir.join(MODEL_FILE)).map_err(TrainError::from)?);
        let optim = std::mem::replace(&mut self.optim, AdamW::new(OptimConfig::default()));
        self.optim = optim
            .load_state(&dir.join(OPTIMIZER_FILE), state.optimizer_steps)
            .map_err(TrainError::from)?;
        self.done = state.step;
        self.sums = state.sums;
        self.cursor.seek(state.step);
        Ok(())
    }
}

/// The mean of the ranks' `value`s (each over `count` examples) weighted by their counts: the
/// whole minibatch's accuracy from its shards'. NaN (a method without an accuracy) stays NaN.
/// Every rank joins the collective, whatever its value, so that none waits alone.
fn mean_over_ranks(value: f64, count: f64) -> f64 {
    if parallel::world().size() == 1 {
        return value;
    }
    // (value, 1) averaged: the second is the fraction of examples on ranks with a value.
    let mut v = if value.is_nan() {
        [0.0, 0.0]
    } else {
        [value, 1.0]
    };
    parallel::weighted_mean(&mut v, count);
    if v[1] > 0.0 { v[0] / v[1] } else { f64::NAN }
}

/// Writes a trained module's weights (with their parameter ids) and its AdamW moments into
/// the trainer-state directory `dir`: the two burnpack files of every trainer state.
pub fn save_weights_and_moments<M: Module>(
    dir: &Path,
    model: &M,
    optim: &AdamW,
) -> Result<(), TrainError> {
    save_module(model, &dir.join(MODEL_FILE))?;
    optim.save_state(&dir.join(OPTIMIZER_FILE))?;
    Ok(())
}

/// Restores what [`save_weights_and_moments`] wrote into `model` (built like the saved one) and
/// `optim`, whose step count becomes `optimizer_steps`. Returns the restored module.
pub fn load_weights_and_moments<M: Module>(
    dir: &Path,
    model: M,
    optim: &mut AdamW,
    optimizer_steps: u64,
) -> Result<M, TrainError> {
    let model = load_module(model, &dir.join(MODEL_FILE))?;
    let fresh = AdamW::new(optim.config.clone());
    *optim =
        std::mem::replace(optim, fresh).load_state(&dir.join(OPTIMIZER_FILE), optimizer_steps)?;
    Ok(model)
}

/// Writes a trainer's `state.json` into `dir`.
pub fn write_state(dir: &Path, state: &impl serde::Serialize) -> Result<(), TrainError> {
    let path = dir.join(STATE_FILE);
    let text =
        serde_json::to_string_pretty(state).map_err(|e| TrainError::state(&path, e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| TrainError::io(&path, e))
}

/// Reads a trainer's `state.json` from `dir`.
pub fn read_state<T: serde::de::DeserializeOwned>(dir: &Path) -> Result<T, TrainError> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::state(&path, e.to_string()))
}

/// The `state.json` of a trainer whose only scalar state is its step count (every random stream
/// forked from the seed by the step).
#[derive(serde::Serialize, serde::Deserialize)]
struct StepCount {
    steps: usize,
    optimizer_steps: u64,
}

/// The whole state of a trainer made of one module, its AdamW and a step count: the weights and
/// moments ([`save_weights_and_moments`]) and `state.json` with the two counts.
pub fn save_counted_state<M: Module>(
    dir: &Path,
    model: &M,
    optim: &AdamW,
    steps: usize,
) -> Result<(), TrainError> {
    save_weights_and_moments(dir, model, optim)?;
    let state = StepCount {
        steps,
        optimizer_steps: optim.step,
    };
    write_state(dir, &state)
}

/// Restores what [`save_counted_state`] wrote: the module (built like the saved one), `optim`,
/// and the step count, returned with the module.
pub fn load_counted_state<M: Module>(
    dir: &Path,
    model: M,
    optim: &mut AdamW,
) -> Result<(M, usize), TrainError> {
    let state: StepCount = read_state(dir)?;
    let model = load_weights_and_moments(dir, model, optim, state.optimizer_steps)?;
    Ok((model, state.steps))
}

/// Runs a whole plan without a run directory: `batch` gives each minibatch's loss and
/// accuracy, `on_step` sees every step. Returns the trained module and the outcome.
pub fn run_epochs<M, B, E>(
    model: M,
    plan: EpochPlan,
    optim: OptimConfig,
    batch: B,
    on_step: &mut dyn FnMut(&StepInfo),
) -> Result<(M, EpochOutcome), E>
where
    M: Module,
    B: FnMut(&M, &[usize]) -> Result<(Tensor<1>, f64), E>,
    E: From<TrainError> + std::error::Error + Send + Sync + 'static,
{
    let mut t = EpochTrainer::new(model, plan, optim, batch)?;
    while t.steps_done() < t.total_steps() {
        let s = t.step()?;
        on_step(&s);
    }
    let outcome = t.outcome();
    Ok((t.into_model(), outcome))
}
