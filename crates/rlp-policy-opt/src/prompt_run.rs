//! [`PromptRun`]: a method that samples its own data, run for a fixed number of steps as a
//! resumable [`Trainer`] for `rlp_train::drive`. Each step draws the trainer's
//! `prompts_per_step` prompts with [`draw_prompts`] (a stream forked by the step, so a resumed
//! run draws what the uninterrupted one would have) and hands them, with the run's feedback —
//! a reward, a ranker, or nothing where the trainer owns its target — to
//! [`PromptTrainer::step_on`]. f-DPG, GRPO/RLOO and online DPO run this way.

use std::path::Path;

use rlp_core::SeededRng;
use rlp_train::Trainer;

use crate::error::{PolicyError, Result};
use crate::prompts::draw_prompts;

/// A trainer that takes one step on a batch of prompts, with feedback of type
/// [`PromptTrainer::Feedback`] living for `'f`.
pub trait PromptTrainer<'f> {
    /// What scores the samples (for example `dyn RewardFn`).
    type Feedback: ?Sized + 'f;
    /// What a step reports.
    type Stats: serde::Serialize;
    /// Prompts per step.
    fn prompts_per_step(&self) -> usize;
    /// Steps done.
    fn steps_done(&self) -> usize;
    /// One step on `prompts`.
    fn step_on(&mut self, prompts: &[String], feedback: &Self::Feedback) -> Result<Self::Stats>;
    /// Writes the state into the directory `dir` (which exists).
    fn save_state(&self, dir: &Path) -> Result<()>;
    /// Restores a state written by [`PromptTrainer::save_state`].
    fn load_state(&mut self, dir: &Path) -> Result<()>;
}

/// A [`PromptTrainer`] on prompts drawn from a prompt set.
pub struct PromptRun<'a, T: PromptTrainer<'a>> {
    /// The trainer.
    pub trainer: T,
    prompts: &'a [String],
    feedback: &'a T::Feedback,
    rng: SeededRng,
    steps: usize,
}

impl<'a, T: PromptTrainer<'a>> PromptRun<'a, T> {
    /// A run of `steps` steps of `trainer` on prompts drawn (with replacement) from `prompts` by
    /// streams of `rng`, with `feedback`. Errors: no prompts, or no steps.
    pub fn new(
        trainer: T,
        prompts: &'a [String],
        feedback: &'a T::Feedback,
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
            feedback,
            rng,
            steps,
        })
    }
}

impl<'a, T: PromptTrainer<'a>> Trainer for PromptRun<'a, T> {
    type Stats = T::Stats;
    type Error = PolicyError;

    fn total_steps(&self) -> usize {
        self.steps
    }

    fn steps_done(&self) -> usize {
        self.trainer.steps_done()
    }

    fn step(&mut self) -> Result<T::Stats> {
        let n = self.trainer.prompts_per_step();
        let prompts = draw_prompts(&self.rng, self.trainer.steps_done() + 1, self.prompts, n);
        self.trainer.step_on(&prompts, self.feedback)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        self.trainer.save_state(dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        self.trainer.load_state(dir)
    }
}
