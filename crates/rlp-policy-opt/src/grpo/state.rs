//! The resumable state of a [`GroupTrainer`]: the policy's weights and AdamW's moments, and the
//! number of generation batches done. Every random stream is forked from the seed by that
//! number, and the reference is the frozen starting policy (rebuilt by the constructor), so
//! nothing else is needed.

use std::path::Path;

use rlp_train::{load_counted_state, save_counted_state};

use super::trainer::GroupTrainer;
use crate::error::Result;

impl GroupTrainer {
    /// Writes everything the next step depends on into the directory `dir` (which exists).
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        Ok(save_counted_state(
            dir,
            &self.policy,
            &self.optim,
            self.steps,
        )?)
    }

    /// Restores a state written by [`GroupTrainer::save_state`] into this trainer, built from
    /// the same starting policy and settings.
    pub fn load_state(&mut self, dir: &Path) -> Result<()> {
        let (policy, steps) = load_counted_state(dir, self.policy.clone(), &mut self.optim)?;
        self.policy = policy;
        self.steps = steps;
        Ok(())
    }
}
