//! Resumable PPO checkpoints: everything the next iteration depends on — policy, value model and
//! anchor weights with their parameter ids, both optimisers' moment estimates and step counts,
//! β, and the iteration (which also fixes every random stream: rollouts and minibatch orders
//! are forked from the seed by iteration). A resumed trainer continues exactly as the
//! uninterrupted one would have (`tests/ppo_resume.rs`).
//!
//! Layout of a checkpoint directory: `policy.bpk`, `value.bpk`, `anchor.bpk`,
//! `policy_adamw.bpk`, `value_adamw.bpk` (burn's burnpack format) and `state.json`. Written
//! inside `rlp_train::RunDir::write_checkpoint`, it appears whole or not at all.

use std::path::Path;

use rlp_train::optim::{load_module, save_module};
use serde::{Deserialize, Serialize};

use super::trainer::PpoTrainer;
use crate::error::PolicyError;

/// The scalar state beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoState {
    /// Iterations done.
    pub iteration: usize,
    /// The KL coefficient after the last update.
    pub beta: f64,
    /// Policy optimiser steps taken.
    pub policy_steps: u64,
    /// Value optimiser steps taken.
    pub value_steps: u64,
}

const STATE: &str = "state.json";

/// An I/O error on `path` as a [`PolicyError`].
pub(crate) fn io(path: &Path, e: std::io::Error) -> PolicyError {
    PolicyError::Model(rlp_models::ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

impl PpoTrainer {
    /// Writes a resumable checkpoint into `dir` (created; files there are replaced). Atomicity
    /// is the caller's: `rlp_train::RunDir::write_checkpoint` assembles it under another name.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), PolicyError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        save_module(&self.policy, &dir.join("policy.bpk"))?;
        save_module(&self.value, &dir.join("value.bpk"))?;
        save_module(self.anchor.model(), &dir.join("anchor.bpk"))?;
        let (policy_opt, value_opt) = self.optimizers();
        policy_opt.save_state(&dir.join("policy_adamw.bpk"))?;
        value_opt.save_state(&dir.join("value_adamw.bpk"))?;
        let state = PpoState {
            iteration: self.iteration,
            beta: self.kl.beta,
            policy_steps: policy_opt.step,
            value_steps: value_opt.step,
        };
        let path = dir.join(STATE);
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&state).expect("serialisable"),
        )
        .map_err(|e| io(&path, e))?;
        Ok(())
    }

    /// Restores a checkpoint written by [`PpoTrainer::save_checkpoint`] into this trainer,
    /// which must have been built like the saved one (same model structures, anchor kind and
    /// config). Returns the restored state.
    pub fn load_checkpoint(&mut self, dir: &Path) -> Result<PpoState, PolicyError> {
        let path = dir.join(STATE);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let state: PpoState = serde_json::from_str(&text)
            .map_err(|e| PolicyError::invalid("checkpoint", format!("{}: {e}", path.display())))?;
        self.policy = load_module(self.policy.clone(), &dir.join("policy.bpk"))?;
        self.value = load_module(self.value.clone(), &dir.join("value.bpk"))?;
        let anchor = load_module(self.anchor.model().clone(), &dir.join("anchor.bpk"))?;
        self.anchor.reset_to(&anchor);
        self.restore_optimizers(
            &dir.join("policy_adamw.bpk"),
            state.policy_steps,
            &dir.join("value_adamw.bpk"),
            state.value_steps,
        )?;
        self.kl.beta = state.beta;
        self.iteration = state.iteration;
        Ok(state)
    }
}
