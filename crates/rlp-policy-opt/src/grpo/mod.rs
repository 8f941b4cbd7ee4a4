//! GRPO (Shao et al. 2024, DeepSeekMath) and its variants: Dr. GRPO (no std scaling, the
//! `dr-grpo` aggregation; Liu et al. 2025), DAPO's clip-higher and token-mean loss (Yu et al.
//! 2025), GSPO's sequence-level ratios (Zheng et al. 2025). `G` completions per prompt, the
//! advantage of each relative to its group ([`advantages`]), a clipped surrogate with an
//! optional `k3` penalty toward the starting policy ([`surrogate`]), no value model.
//!
//! [`GroupTrainer`] is shared with RLOO ([`crate::rloo`]), which differs only in its advantage
//! and in where the KL enters.

pub mod config;
pub mod run;
pub mod state;
pub mod trainer;

pub use rlp_losses::grpo::{advantages, surrogate};

pub use advantages::{Scale, equal_reward_groups, group_advantages};
pub use config::{AdvantageRule, GroupSettings, GrpoConfig, KlPenalty};
pub use run::GroupRun;
pub use surrogate::{ImportanceSampling, LossAggregation, Surrogate, SurrogateStats};
pub use trainer::{GroupStats, GroupTrainer};
