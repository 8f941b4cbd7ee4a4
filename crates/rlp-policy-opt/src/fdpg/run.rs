//! [`FdpgRun`]: f-DPG for a fixed number of steps, a [`PromptRun`] of the [`FdpgTrainer`] (which
//! owns its target, so the run's feedback is `()`).

use std::path::Path;

use super::trainer::{FdpgStats, FdpgTrainer};
use crate::error::Result;
use crate::prompt_run::{PromptRun, PromptTrainer};

/// f-DPG on prompts drawn from a prompt set: `FdpgRun::new(trainer, prompts, &(), rng, steps)`.
pub type FdpgRun<'a> = PromptRun<'a, FdpgTrainer>;

impl PromptTrainer<'_> for FdpgTrainer {
    type Feedback = ();
    type Stats = FdpgStats;

    fn prompts_per_step(&self) -> usize {
        self.config().batch_size
    }

    fn steps_done(&self) -> usize {
        self.steps() as usize
    }

    fn step_on(&mut self, prompts: &[String], _: &()) -> Result<FdpgStats> {
        self.step(prompts)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        FdpgTrainer::save_state(self, dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        FdpgTrainer::load_state(self, dir)
    }
}
