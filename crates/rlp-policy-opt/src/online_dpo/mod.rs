//! Online DPO (Guo et al. 2024): DPO on pairs sampled from the current policy and ranked as
//! they are sampled, by a [`RewardFn`](rlp_core::RewardFn) or a [`Judge`](rlp_core::Judge),
//! rather than on a fixed preference dataset. It reuses the offline DPO loss
//! ([`crate::dpo::dpo_loss`]) and PPO's rollout and log-prob code.

pub mod config;
pub mod run;
pub mod trainer;

pub use config::OnlineDpoConfig;
pub use run::OnlineDpoRun;
pub use trainer::{OnlineDpoStats, OnlineDpoTrainer, Ranker};
