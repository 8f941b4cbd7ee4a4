//! [`GroupRun`]: GRPO or RLOO for a fixed number of generation batches as a resumable
//! [`Trainer`] for `rlp_train::drive`. Each step draws `prompts_per_step` prompts from a stream
//! forked by the step (so a resumed run draws what the uninterrupted one would have) and runs
//! one [`GroupTrainer::step`] against the reward.

use std::path::Path;

use rlp_core::{RewardFn, SeededRng};
use rlp_train::Trainer;

use super::trainer::{GroupStats, GroupTrainer};
use crate::error::{PolicyError, Result};
use crate::prompts::draw_prompts;

/// GRPO or RLOO on prompts drawn from a prompt set.
pub struct GroupRun<'a> {
    /// The trainer.
    pub trainer: GroupTrainer,
    prompts: &'a [String],
    reward: &'a dyn RewardFn,
    rng: SeededRng,
    steps: usize,
}

impl<'a> GroupRun<'a> {
    /// A run of `steps` generation batches of `trainer` on prompts drawn (with replacement) from
    /// `prompts` by streams of `rng`, maximising `reward`.
    pub fn new(
        trainer: GroupTrainer,
        prompts: &'a [String],
        reward: &'a dyn RewardFn,
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
            reward,
            rng,
            steps,
        })
    }
}

impl Trainer for GroupRun<'_> {
    type Stats = GroupStats;
    type Error = PolicyError;

    fn total_steps(&self) -> usize {
        self.steps
    }

    fn steps_done(&self) -> usize {
        self.trainer.steps()
    }

    fn step(&mut self) -> Result<GroupStats> {
        let n = self.trainer.settings().prompts_per_step;
        let prompts = draw_prompts(&self.rng, self.trainer.steps() + 1, self.prompts, n);
        self.trainer.step(&prompts, self.reward)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        self.trainer.save_state(dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        self.trainer.load_state(dir)
    }
}
