//! [`Trainer`], the one seam every method's training plugs into, and [`Callback`], the seam for
//! what runs beside it (evaluation, progress, extra files in checkpoints).

use std::path::Path;

use crate::error::TrainError;

/// A method's training, one optimisation step at a time, with its whole state saveable.
///
/// The contract [`crate::drive()`] relies on: after `load_state(dir)` of a state written by
/// `save_state(dir)` at step `k`, the following steps produce the same weights and statistics,
/// bit for bit on the same backend, as the trainer that wrote it would have. That means saving
/// the weights with their parameter ids, the optimiser's moments and step count, every
/// schedule's position, and every random stream (usually by deriving each step's randomness
/// from the seed and the step number, so that the step count is the whole RNG state) and the
/// data position (an [`crate::EpochPlan`] derives it from the step).
pub trait Trainer {
    /// What one step reports; written as one line of `metrics.jsonl`. It must serialise to a
    /// JSON object.
    type Stats: serde::Serialize;
    /// The method's error; the driver's own errors convert into it.
    type Error: From<TrainError> + std::error::Error + Send + Sync + 'static;

    /// Steps in the whole run.
    fn total_steps(&self) -> usize;
    /// Steps done so far (restored by [`Trainer::load_state`]).
    fn steps_done(&self) -> usize;
    /// Runs the next step.
    fn step(&mut self) -> Result<Self::Stats, Self::Error>;
    /// Writes everything the next step depends on into the directory `dir` (which exists).
    fn save_state(&self, dir: &Path) -> Result<(), Self::Error>;
    /// Restores a state written by [`Trainer::save_state`] into this trainer, which was built
    /// from the same config and data.
    fn load_state(&mut self, dir: &Path) -> Result<(), Self::Error>;
}

/// Work beside a [`Trainer`] at the driver's seams. Every method has a default that does
/// nothing.
pub trait Callback<T: Trainer> {
    /// After `step` (1-based) and its metrics line.
    fn on_step(&mut self, _trainer: &T, _step: usize, _stats: &T::Stats) -> Result<(), T::Error> {
        Ok(())
    }

    /// While checkpoint `step` is assembled in `dir` (not yet in place): write what a user
    /// wants beside the trainer state, such as loadable weights and a tokenizer.
    fn on_checkpoint(&mut self, _trainer: &T, _step: usize, _dir: &Path) -> Result<(), T::Error> {
        Ok(())
    }

    /// After the trainer was restored from checkpoint `step` in `dir`: restore the callback's
    /// own records (for example truncate its files to `step`).
    fn on_resume(&mut self, _trainer: &T, _step: usize, _dir: &Path) -> Result<(), T::Error> {
        Ok(())
    }
}
