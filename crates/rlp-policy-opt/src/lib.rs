#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod anchor;
pub mod best_of_n;
pub mod dpo;
pub mod elastic_reset;
pub mod error;
pub mod fdpg;
pub mod grpo;
pub mod online_dpo;
pub mod ppo;
pub mod prompt_run;
pub mod prompts;
pub mod quark;
pub mod rloo;
pub mod scores;

pub use anchor::{
    Anchor, DEFAULT_EMA_ETA, DEFAULT_SOUP_ALPHA, EmaAnchor, FrozenAnchor, SoupAnchor,
};
pub use best_of_n::{BestOfN, best_of_n};
pub use dpo::{DpoConfig, DpoLossStats, DpoReport, DpoStepStats, DpoTrainer, dpo_loss};
pub use elastic_reset::{DEFAULT_RESET_EVERY, ElasticReset, ElasticResetConfig, ResetAnchor};
pub use error::{PolicyError, Result};
pub use fdpg::{
    Divergence, DivergenceEstimates, FdpgConfig, FdpgStats, FdpgTrainer, Proposal, Target,
};
pub use grpo::{GroupRun, GroupStats, GroupTrainer, GrpoConfig};
pub use online_dpo::{OnlineDpoConfig, OnlineDpoRun, OnlineDpoStats, OnlineDpoTrainer, Ranker};
pub use prompt_run::{PromptRun, PromptTrainer};
pub use quark::{
    DataPool, ExploreStats, PhaseStats, QuarkConfig, QuarkLossStats, QuarkTrainer, TrainStats,
    quantize, quark_loss,
};
pub use rloo::RlooConfig;
