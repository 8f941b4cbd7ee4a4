//! # rlp-policy-opt
//!
//! Policy optimisation (`../shared/ALGORITHMS.md`): PPO with a per-token KL penalty against a
//! KL anchor (the frozen initial model, an EMA of the policy, or a weight soup), fixed and
//! adaptive KL controllers; best-of-n against any [`RewardFn`](rlp_core::RewardFn); DPO.
#![warn(missing_docs)]
