//! [`FdpgRun`]: f-DPG for a fixed number of steps as a resumable [`Trainer`] for
//! `rlp_train::drive`: each step draws `batch_size` prompts from a stream forked by the step (so
//! a resumed run draws what the uninterrupted one would have) and runs one
//! [`FdpgTrainer::step`].

use std::path::Path;

use rlp_core::SeededRng;
use rlp_train::Trainer;

use super::trainer::{FdpgStats, FdpgTrainer};
use crate::error::{PolicyError, Result};
use crate::prompts::draw_prompts;

/// f-DPG on prompts drawn from a prompt set.
pub struct FdpgRun<'a> {
    /// The trainer.
    pub trainer: FdpgTrainer,
    prompts: &'a [String],
    rng: SeededRng,
    steps: usize,
}

impl<'a> FdpgRun<'a> {
    /// A run of `steps` steps of `trainer` on prompts drawn (with replacement) from `prompts` by
    /// streams of `rng`.
    pub fn new(
        trainer: FdpgTrainer,
        prompts: &'a [String],
        rng: SeededRng,
        steps: usize,
    ) -> Result<Self> {
        if prompts.is_empty() {
            return Err(PolicyError::invalid(
                "prompts",
                "there are no training prompts",
            ));
        }
        if steps == 0 {
            return Err(PolicyError::invalid("steps", "must be at least 1"));
        }
        Ok(Self {
            trainer,
            prompts,
            rng,
            steps,
        })
    }
}

impl Trainer for FdpgRun<'_> {
    type Stats = FdpgStats;
    type Error = PolicyError;

    fn total_steps(&self) -> usize {
        self.steps
    }

    fn steps_done(&self) -> usize {
        self.trainer.steps() as usize
    }

    fn step(&mut self) -> Result<FdpgStats> {
        let step = self.trainer.steps() as usize + 1;
        let prompts = draw_prompts(
            &self.rng,
            step,
            self.prompts,
            self.trainer.config().batch_size,
        );
        self.trainer.step(&prompts)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        self.trainer.save_state(dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        self.trainer.load_state(dir)
    }
}
