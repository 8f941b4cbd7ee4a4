//! RLOO, REINFORCE with a leave-one-out baseline (Kool et al. 2019; Ahmadian et al., ACL 2024,
//! "Back to Basics"): `k` samples per prompt, each one's baseline the mean reward of the others.
//! It runs on GRPO's [`GroupTrainer`](crate::grpo::GroupTrainer) and surrogate, with
//! [`leave_one_out_advantages`] and the KL either on the reward or in the loss
//! ([`RlooConfig::kl_penalty`]).

pub mod config;

pub use rlp_losses::rloo as advantages;

pub use advantages::leave_one_out_advantages;
pub use config::RlooConfig;
