#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod bradley_terry;
pub mod dpo;
pub mod fdpg;
pub mod grpo;
pub mod ppo;
pub mod quark;
pub mod rloo;

pub use bradley_terry::{BtConfig, bt_loss, pair_accuracy};
pub use dpo::{DpoLossStats, dpo_loss};
pub use ppo::gae;
pub use quark::{QuarkLossStats, quark_loss};
pub use rloo::leave_one_out_advantages;
