//! [`OnlineDpoRun`]: online DPO for a fixed number of steps, a [`PromptRun`] of the
//! [`OnlineDpoTrainer`] with its pairs ranked by a [`Ranker`].

use std::path::Path;

use super::trainer::{OnlineDpoStats, OnlineDpoTrainer, Ranker};
use crate::error::Result;
use crate::prompt_run::{PromptRun, PromptTrainer};

/// Online DPO on prompts drawn from a prompt set.
pub type OnlineDpoRun<'a> = PromptRun<'a, OnlineDpoTrainer>;

impl<'f> PromptTrainer<'f> for OnlineDpoTrainer {
    type Feedback = Ranker<'f>;
    type Stats = OnlineDpoStats;

    fn prompts_per_step(&self) -> usize {
        self.config().prompts_per_step
    }

    fn steps_done(&self) -> usize {
        self.steps()
    }

    fn step_on(&mut self, prompts: &[String], ranker: &Ranker<'f>) -> Result<OnlineDpoStats> {
        self.step(prompts, *ranker)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        OnlineDpoTrainer::save_state(self, dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        OnlineDpoTrainer::load_state(self, dir)
    }
}
