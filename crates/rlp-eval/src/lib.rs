//! # rlp-eval
//!
//! How `rlp` measures a policy (`../shared/ALGORITHMS.md`): gold and proxy score, sequence KL
//! to the initial model, drift (perplexity on a task's held-out human text), diversity, win-rates
//! under a [`Judge`](rlp_core::Judge) with standard errors, the best-of-n estimator, plots and
//! run reports.
#![warn(missing_docs)]
