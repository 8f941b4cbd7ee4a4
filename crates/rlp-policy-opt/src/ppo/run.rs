//! [`PpoRun`]: PPO over a prompt set as a resumable [`Trainer`] for `rlp_train::drive`: one
//! step is one iteration — `rollout_batch_size` prompts drawn from a stream forked by the
//! iteration (so a resumed run draws what the uninterrupted one would have), a
//! [`PpoTrainer::step`] against the reward, and, with Elastic Reset, its bookkeeping after the
//! iteration. Its state is the trainer's checkpoint plus Elastic Reset's EMA and counts.

use std::path::Path;

use rlp_core::{RewardFn, SeededRng};
use rlp_train::Trainer;

use super::trainer::{PpoStats, PpoTrainer};
use crate::elastic_reset::ElasticReset;
use crate::error::{PolicyError, Result};
use crate::prompts::draw_prompts;

/// The sub-directory of a trainer state holding Elastic Reset's EMA and counts.
pub const ELASTIC_RESET_DIR: &str = "elastic_reset";

/// PPO for a fixed number of iterations on prompts drawn from `prompts`.
pub struct PpoRun<'a> {
    /// The trainer (policy, value model, anchor, optimisers, KL controller).
    pub ppo: PpoTrainer,
    /// Elastic Reset, when on.
    pub elastic: Option<ElasticReset>,
    prompts: &'a [String],
    reward: &'a dyn RewardFn,
    rng: SeededRng,
    iterations: usize,
}

impl<'a> PpoRun<'a> {
    /// A run of `iterations` iterations of `ppo` on prompts drawn (with replacement) from
    /// `prompts` by streams of `rng`, maximising `reward`.
    pub fn new(
        ppo: PpoTrainer,
        elastic: Option<ElasticReset>,
        prompts: &'a [String],
        reward: &'a dyn RewardFn,
        rng: SeededRng,
        iterations: usize,
    ) -> Result<Self> {
        if prompts.is_empty() {
            return Err(PolicyError::invalid(
                "prompts",
                "there are no training prompts",
            ));
        }
        if iterations == 0 {
            return Err(PolicyError::invalid("iterations", "must be at least 1"));
        }
        Ok(Self {
            ppo,
            elastic,
            prompts,
            reward,
            rng,
            iterations,
        })
    }

    /// Elastic Reset's resets so far (0 without it).
    pub fn resets(&self) -> usize {
        self.elastic.as_ref().map_or(0, ElasticReset::resets)
    }
}

impl Trainer for PpoRun<'_> {
    type Stats = PpoStats;
    type Error = PolicyError;

    fn total_steps(&self) -> usize {
        self.iterations
    }

    fn steps_done(&self) -> usize {
        self.ppo.iteration
    }

    fn step(&mut self) -> Result<PpoStats> {
        let it = self.ppo.iteration + 1;
        let n = self.ppo.config.rollout_batch_size;
        let prompts = draw_prompts(&self.rng, it, self.prompts, n);
        let stats = self.ppo.step(&prompts, self.reward)?;
        if let Some(er) = self.elastic.as_mut() {
            er.after_iteration(&mut self.ppo)?;
        }
        Ok(stats)
    }

    fn save_state(&self, dir: &Path) -> Result<()> {
        self.ppo.save_checkpoint(dir)?;
        if let Some(er) = &self.elastic {
            er.save_state(&dir.join(ELASTIC_RESET_DIR))?;
        }
        Ok(())
    }

    fn load_state(&mut self, dir: &Path) -> Result<()> {
        self.ppo.load_checkpoint(dir)?;
        if let Some(er) = self.elastic.as_mut() {
            er.load_state(&dir.join(ELASTIC_RESET_DIR))?;
        }
        Ok(())
    }
}
