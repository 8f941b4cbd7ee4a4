//! GRPO (Shao et al. 2024) and its variants: group-relative advantages (Dr. GRPO's unscaled
//! form included) and the clipped surrogate with DAPO's and GSPO's options.

pub mod advantages;
pub mod surrogate;

pub use advantages::{Scale, equal_reward_groups, group_advantages};
pub use surrogate::{ImportanceSampling, LossAggregation, Surrogate, SurrogateStats};
