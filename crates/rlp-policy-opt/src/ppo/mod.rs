//! PPO for RLHF (`docs/algorithms.md`, "RLHF with PPO"): per-token KL penalty
//! against a [`crate::anchor::Anchor`] with the score on the last token, GAE, whitened
//! advantages, clipped policy and value losses, fixed or adaptive KL control.

pub mod checkpoint;
pub mod config;
pub mod rollout;
pub mod run;
pub mod trainer;
pub mod value;

pub use rlp_losses::ppo::{gae, kl_control, losses, rewards};

pub use checkpoint::PpoState;
pub use config::{LrSchedule, PpoConfig, ValueInit};
pub use gae::Gae;
pub use kl_control::{KlControl, KlController};
pub use losses::{PolicyLossStats, ValueLossStats, policy_loss, value_loss};
pub use rewards::{TokenRewards, token_rewards};
pub use rollout::{Rollout, RolloutTensors, response_logprobs, sample_rollout};
pub use run::PpoRun;
pub use trainer::{PpoStats, PpoTrainer};
pub use value::ValueModel;
