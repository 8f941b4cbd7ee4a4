//! [`GroupRun`]: GRPO or RLOO for a fixed number of generation batches, a [`PromptRun`] of the
//! [`GroupTrainer`] against a reward.

use std::path::Path;

use rlp_core::RewardFn;

use super::trainer::{GroupStats, GroupTrainer};
use crate::error::Result;
use crate::prompt_run::{PromptRun, PromptTrainer};

/// GRPO or RLOO on prompts drawn from a prompt set, maximising a reward.
pub type GroupRun<'a> = PromptRun<'a, GroupTrainer>;

impl<'f> PromptTrainer<'f> for GroupTrainer {
    type Feedback = dyn RewardFn + 'f;
    type Stats = GroupStats;

    fn prompts_per_step(&self) -> usize {
        self.settings().prompts_per_step
    }

    fn steps_done(&self) -> usize {
        self.steps()
    }

    fn step_on(&mut self, prompts: &[String], reward: &Self::Feedback) -> Result<GroupStats> {
        self.step(prompts, reward)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        GroupTrainer::save_state(self, dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        GroupTrainer::load_state(self, dir)
    }
}
