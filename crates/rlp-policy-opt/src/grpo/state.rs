//! The resumable state of a [`GroupTrainer`]: the policy's weights and AdamW's moments, and the
//! number of generation batches done. Every random stream is forked from the seed by that
//! number, and the reference is the frozen starting policy (rebuilt by the constructor), so
//! nothing else is needed.

use std::path::Path;

use rlp_train::{load_weights_and_moments, read_state, save_weights_and_moments, write_state};

use super::trainer::GroupTrainer;
use crate::error::Result;

/// The scalar state (`state.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct GroupState {
    steps: usize,
    optimizer_steps: u64,
}

impl GroupTrainer {
    /// Writes everything the next step depends on into the directory `dir` (which exists).
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        save_weights_and_moments(dir, &self.policy, &self.optim)?;
        let state = GroupState {
            steps: self.steps,
            optimizer_steps: self.optim.step,
        };
        Ok(write_state(dir, &state)?)
    }

    /// Restores a state written by [`GroupTrainer::save_state`] into this trainer, built from
    /// the same starting policy and settings.
    pub fn load_state(&mut self, dir: &Path) -> Result<()> {
        let state: GroupState = read_state(dir)?;
        self.policy = load_weights_and_moments(
            dir,
            self.policy.clone(),
            &mut self.optim,
            state.optimizer_steps,
        )?;
        self.steps = state.steps;
        Ok(())
    }
}
