//! [`OnlineDpoRun`]: online DPO for a fixed number of steps as a resumable [`Trainer`] for
//! `rlp_train::drive`; each step draws `prompts_per_step` prompts from a stream forked by the
//! step.

use std::path::Path;

use rlp_core::SeededRng;
use rlp_train::Trainer;

use super::trainer::{OnlineDpoStats, OnlineDpoTrainer, Ranker};
use crate::error::{PolicyError, Result};
use crate::prompts::draw_prompts;

/// Online DPO on prompts drawn from a prompt set.
pub struct OnlineDpoRun<'a> {
    /// The trainer.
    pub trainer: OnlineDpoTrainer,
    prompts: &'a [String],
    ranker: Ranker<'a>,
    rng: SeededRng,
    steps: usize,
}

impl<'a> OnlineDpoRun<'a> {
    /// A run of `steps` steps of `trainer` on prompts drawn (with replacement) from `prompts` by
    /// streams of `rng`, the pairs ranked by `ranker`.
    pub fn new(
        trainer: OnlineDpoTrainer,
        prompts: &'a [String],
        ranker: Ranker<'a>,
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
            ranker,
            rng,
            steps,
        })
    }
}

impl Trainer for OnlineDpoRun<'_> {
    type Stats = OnlineDpoStats;
    type Error = PolicyError;

    fn total_steps(&self) -> usize {
        self.steps
    }

    fn steps_done(&self) -> usize {
        self.trainer.steps()
    }

    fn step(&mut self) -> Result<OnlineDpoStats> {
        let n = self.trainer.config().prompts_per_step;
        let prompts = draw_prompts(&self.rng, self.trainer.steps() + 1, self.prompts, n);
        self.trainer.step(&prompts, self.ranker)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        self.trainer.save_state(dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        self.trainer.load_state(dir)
    }
}
