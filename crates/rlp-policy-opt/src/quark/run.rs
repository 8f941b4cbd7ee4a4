//! [`QuarkRun`]: Quark for a fixed number of phases as a resumable [`Trainer`] for
//! `rlp_train::drive`. One step is one phase — exploration then `steps_per_phase` training
//! steps — on `samples_per_phase` prompts drawn from a stream forked by the phase; the first step
//! first fills the pool from the initial policy π₀, as Quark starts.

use std::path::Path;

use rlp_core::SeededRng;
use rlp_train::Trainer;

use super::trainer::{PhaseStats, QuarkTrainer};
use crate::error::{PolicyError, Result};
use crate::prompts::draw_prompts;

/// Quark on prompts drawn from a prompt set.
pub struct QuarkRun<'a> {
    /// The trainer.
    pub trainer: QuarkTrainer,
    prompts: &'a [String],
    rng: SeededRng,
    phases: usize,
}

impl<'a> QuarkRun<'a> {
    /// A run of `phases` phases of `trainer` on prompts drawn (with replacement) from `prompts`
    /// by streams of `rng`.
    pub fn new(
        trainer: QuarkTrainer,
        prompts: &'a [String],
        rng: SeededRng,
        phases: usize,
    ) -> Result<Self> {
        if prompts.is_empty() {
            return Err(PolicyError::invalid(
                "prompts",
                "there are no training prompts",
            ));
        }
        if phases == 0 {
            return Err(PolicyError::invalid("phases", "must be at least 1"));
        }
        Ok(Self {
            trainer,
            prompts,
            rng,
            phases,
        })
    }

    fn draw(&self, stream: usize) -> Vec<String> {
        let n = self.trainer.config().samples_per_phase;
        draw_prompts(&self.rng, stream, self.prompts, n)
    }
}

impl Trainer for QuarkRun<'_> {
    type Stats = PhaseStats;
    type Error = PolicyError;

    fn total_steps(&self) -> usize {
        self.phases
    }

    /// Phases after the initial exploration.
    fn steps_done(&self) -> usize {
        self.trainer.phases().saturating_sub(1)
    }

    fn step(&mut self) -> Result<PhaseStats> {
        if self.trainer.pool().is_empty() {
            let initial = self.draw(0);
            self.trainer.explore(&initial)?;
        }
        let prompts = self.draw(self.steps_done() + 1);
        self.trainer.phase(&prompts)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        self.trainer.save_state(dir)
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        self.trainer.load_state(dir)
    }
}
