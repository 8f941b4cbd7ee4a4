//! Elastic Reset (Noukhovitch et al., NeurIPS 2023; `docs/algorithms.md`): PPO whose
//! online policy is periodically reset to an exponential moving average of itself.
//!
//! After every PPO iteration the EMA moves towards the online policy,
//!
//! ```text
//! θ̄ ← η·θ̄ + (1 − η)·θ            (η = 0.995, no warm-up)
//! ```
//!
//! and every `n` iterations the online policy takes the EMA's weights and the EMA goes back to
//! the initial model:
//!
//! ```text
//! θ ← θ̄,   then   θ̄ ← θ₀
//! ```
//!
//! The KL penalty's anchor is an option, because the authors' two codebases differ: the frozen
//! initial model θ₀ (the default here, so that the reset is the only difference from PPO) or
//! the EMA θ̄ itself. Resetting the optimiser's moments and the value model at each reset are
//! options too, off by default as in the paper.
//!
//! [`ElasticReset`] drives a [`PpoTrainer`] from the outside: build the trainer with
//! [`ElasticReset::anchor`], and call [`ElasticReset::after_iteration`] after every
//! [`PpoTrainer::step`].

use std::path::Path;

use burn::module::Module;
use rlp_models::CausalLm;
use rlp_train::optim::{load_module, save_module};
use rlp_train::soup::try_ema_update;
use serde::{Deserialize, Serialize};

use crate::anchor::{DEFAULT_EMA_ETA, FrozenAnchor};
use crate::error::{PolicyError, Result};
use crate::ppo::checkpoint::io;
use crate::ppo::{PpoTrainer, ValueModel};

/// The reset period of the authors' IMDB run: every 17 of 50 iterations.
pub const DEFAULT_RESET_EVERY: usize = 17;

/// What PPO's KL penalty is measured against under Elastic Reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetAnchor {
    /// The frozen initial model θ₀.
    #[default]
    Initial,
    /// The EMA θ̄ (which itself returns to θ₀ at every reset).
    Ema,
}

/// Elastic Reset's settings (`[elastic_reset]` in a PPO run's TOML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ElasticResetConfig {
    /// The EMA decay η in `θ̄ ← η θ̄ + (1 − η) θ` ([`DEFAULT_EMA_ETA`] = 0.995).
    pub eta: f64,
    /// Reset every this many PPO iterations ([`DEFAULT_RESET_EVERY`]).
    pub reset_every: usize,
    /// The KL anchor: the initial model or the EMA.
    pub anchor: ResetAnchor,
    /// Also clear both optimisers' moment estimates at each reset.
    pub reset_optimizer: bool,
    /// Also put the value model back to its starting weights at each reset.
    pub reset_value: bool,
}

impl Default for ElasticResetConfig {
    fn default() -> Self {
        Self {
            eta: DEFAULT_EMA_ETA,
            reset_every: DEFAULT_RESET_EVERY,
            anchor: ResetAnchor::Initial,
            reset_optimizer: false,
            reset_value: false,
        }
    }
}

impl ElasticResetConfig {
    /// Checks `eta ∈ [0, 1]` and `reset_every ≥ 1`; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.eta) {
            return Err(PolicyError::invalid(
                "elastic_reset.eta",
                format!("{} is not in [0, 1]", self.eta),
            ));
        }
        if self.reset_every == 0 {
            return Err(PolicyError::invalid(
                "elastic_reset.reset_every",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The scalar state beside the EMA's weights in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct ResetState {
    iterations: usize,
    resets: usize,
}

const EMA_FILE: &str = "ema.bpk";
const STATE_FILE: &str = "elastic_reset.json";

/// Elastic Reset's state: the initial model θ₀, the EMA θ̄, the value model's starting weights,
/// and the counts of iterations and resets.
#[derive(Debug, Clone)]
pub struct ElasticReset {
    config: ElasticResetConfig,
    initial: CausalLm,
    ema: CausalLm,
    initial_value: ValueModel,
    iterations: usize,
    resets: usize,
}

impl ElasticReset {
    /// Starts with θ̄ = θ₀ = `initial` (kept on its plain device) and remembers `value` (the
    /// trainer's starting critic) for `reset_value`.
    pub fn new(initial: &CausalLm, value: &ValueModel, config: ElasticResetConfig) -> Result<Self> {
        config.validate()?;
        let initial = initial.valid();
        Ok(Self {
            ema: initial.clone(),
            initial,
            initial_value: value.clone(),
            config,
            iterations: 0,
            resets: 0,
        })
    }

    /// The anchor to build the [`PpoTrainer`] with: θ₀ in both modes (the EMA starts there;
    /// with [`ResetAnchor::Ema`], [`Self::after_iteration`] keeps the anchor on the EMA).
    pub fn anchor(&self) -> FrozenAnchor {
        FrozenAnchor::new(&self.initial)
    }

    /// The settings.
    pub fn config(&self) -> &ElasticResetConfig {
        &self.config
    }

    /// The EMA θ̄ (plain device).
    pub fn ema(&self) -> &CausalLm {
        &self.ema
    }

    /// Iterations seen.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Resets done.
    pub fn resets(&self) -> usize {
        self.resets
    }

    /// Call once after every [`PpoTrainer::step`]: `θ̄ ← η θ̄ + (1 − η) θ`, and every
    /// `reset_every` iterations `θ ← θ̄, θ̄ ← θ₀` (plus the optional optimiser and value
    /// resets). Keeps the trainer's anchor on θ̄ under [`ResetAnchor::Ema`]. Returns whether
    /// this iteration reset.
    pub fn after_iteration(&mut self, trainer: &mut PpoTrainer) -> Result<bool> {
        self.ema = try_ema_update(self.ema.clone(), &trainer.policy, self.config.eta)?;
        self.iterations += 1;
        let reset = self.iterations % self.config.reset_every == 0;
        if reset {
            // η = 0 copies the EMA's values into the policy, keeping the policy's autodiff
            // device and trainable parameters.
            trainer.policy = try_ema_update(trainer.policy.clone(), &self.ema, 0.0)?;
            self.ema = self.initial.clone();
            if self.config.reset_optimizer {
                trainer.reset_optimizers();
            }
            if self.config.reset_value {
                trainer.value = self.initial_value.clone();
            }
            self.resets += 1;
        }
        if self.config.anchor == ResetAnchor::Ema {
            trainer.anchor.reset_to(&self.ema);
        }
        Ok(reset)
    }

    /// Writes the EMA and the counts into `dir` (created), beside a trainer checkpoint.
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        save_module(&self.ema, &dir.join(EMA_FILE))?;
        let state = ResetState {
            iterations: self.iterations,
            resets: self.resets,
        };
        let path = dir.join(STATE_FILE);
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&state).expect("serialisable"),
        )
        .map_err(|e| io(&path, e))
    }

    /// Restores what [`Self::save_state`] wrote (into a reset built like the saved one).
    pub fn load_state(&mut self, dir: &Path) -> Result<()> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let state: ResetState = serde_json::from_str(&text).map_err(|e| {
            PolicyError::invalid("elastic_reset", format!("{}: {e}", path.display()))
        })?;
        self.ema = load_module(self.ema.clone(), &dir.join(EMA_FILE))?;
        self.iterations = state.iterations;
        self.resets = state.resets;
        Ok(())
    }
}
