//! Quark's resumable state: beside the policy's weights (reward tokens included) and AdamW's
//! moments, the data pool with its quantiles, the phase count and the position in the current
//! shuffled pass over the pool. Every random stream is forked from the seed by the phase or
//! the pass, so these counts are the whole RNG state.

use std::path::Path;

use rlp_train::{load_weights_and_moments, read_state, save_weights_and_moments, write_state};

use super::pool::DataPool;
use super::trainer::QuarkTrainer;
use crate::error::Result;

/// The scalar state of a [`QuarkTrainer`] (`state.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct QuarkState {
    optimizer_steps: u64,
    phases: usize,
    order: Vec<usize>,
    cursor: usize,
    epochs: usize,
    pool: DataPool,
}

impl QuarkTrainer {
    /// Writes everything the next phase depends on into the directory `dir` (which exists).
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        save_weights_and_moments(dir, &self.policy, &self.optim)?;
        let state = QuarkState {
            optimizer_steps: self.optim.step,
            phases: self.phases,
            order: self.order.clone(),
            cursor: self.cursor,
            epochs: self.epochs,
            pool: self.pool.clone(),
        };
        Ok(write_state(dir, &state)?)
    }

    /// Restores a state written by [`QuarkTrainer::save_state`] into this trainer, built from
    /// the same policy, reward and config.
    pub fn load_state(&mut self, dir: &Path) -> Result<()> {
        let state: QuarkState = read_state(dir)?;
        self.policy = load_weights_and_moments(
            dir,
            self.policy.clone(),
            &mut self.optim,
            state.optimizer_steps,
        )?;
        self.phases = state.phases;
        self.order = state.order;
        self.cursor = state.cursor;
        self.epochs = state.epochs;
        self.pool = state.pool;
        Ok(())
    }
}
