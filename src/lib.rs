//! # rlp
//!
//! Reward Learning on Policy and the RLHF methods around it, on the burn deep-learning
//! framework. This facade re-exports the workspace crates and holds the runs the `rlp` binary
//! drives:
//! - [`core`] (`rlp-core`): devices, RNG, masked ops, KL estimators, data types, JSONL, metrics,
//!   the `RewardFn` and `Judge` seams;
//! - [`models`] (`rlp-models`): the Llama-style decoder, generation, heads, tokenizer,
//!   checkpoints and the SFT trainer;
//! - [`runs`]: SFT and generation as the CLI runs them; [`toy`]: the shipped example data.
#![warn(missing_docs)]

pub use rlp_core as core;
pub use rlp_models as models;

pub mod runs;
pub mod toy;
