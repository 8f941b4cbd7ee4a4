//! # rlp-eval
//!
//! How `rlp` measures a policy (`docs/algorithms.md`):
//! - [`evaluate_policy`]: sample responses, gold and proxy score (mean ± SE), sequence KL to a
//!   reference model (k1 and k3), drift (perplexity on held-out human text) and diversity, in a
//!   serialisable [`EvalSummary`];
//! - [`win_rate`] under any [`Judge`](rlp_core::Judge): [`GoldJudge`] (hard or Bradley–Terry
//!   on a gold reward) and [`AnnotatorPool`] (seeded simulated noisy annotators, AlpacaFarm
//!   style), with `(wins + ½·ties)/n` and its standard error;
//! - [`best_of_n_gold`]: the unbiased best-of-n estimator from `N` samples and best-of-n's
//!   analytic KL [`bon_kl`];
//! - [`fit_bon`] and [`fit_rl`]: Gao et al.'s overoptimisation forms fitted to gold-vs-√KL
//!   curves ([`scaling`]);
//! - [`self_consistency`]: single-sample against majority-of-k accuracy of sampled answers;
//! - [`sequence_kl`], [`teacher_forced_logprobs`], [`perplexity`];
//! - diversity: [`distinct_n`], [`self_bleu`], [`mean_length`] (whitespace tokens);
//! - [`LinePlot`] (SVG and PNG with plotters, text in a system font) and [`Report`]
//!   (`report.md`).
//!
//! Errors are [`EvalError`]; bad input (empty lists, mismatched lengths) names the argument
//! and never panics.
#![warn(missing_docs)]

pub mod annotators;
pub mod best_of_n;
pub mod bon_curve;
pub mod consistency;
pub mod diversity;
pub mod drift;
pub mod error;
pub mod font;
pub mod judge;
pub mod kl;
pub mod plot;
pub mod report;
pub mod scaling;
pub mod stats;
pub mod summary;
pub mod teacher_forced;
pub mod winrate;

#[cfg(test)]
mod model_tests;

pub use annotators::{Annotator, AnnotatorPool, AnnotatorPoolConfig, Vote};
pub use best_of_n::{BonPoint, best_of_n_curve, best_of_n_gold, bon_kl, bon_weights};
pub use bon_curve::{BonCurvePoint, candidate_counts, mean_bon_curve};
pub use consistency::{SelfConsistency, majority, self_consistency};
pub use diversity::{distinct_n, mean_length, self_bleu};
pub use drift::{Perplexity, perplexity, perplexity_ids};
pub use error::{EvalError, Result};
pub use judge::{GoldJudge, RewardRef};
pub use kl::{SequenceKl, sequence_kl, sequence_kl_tensors};
pub use plot::{LinePlot, Series};
pub use report::{Report, markdown_table};
pub use scaling::{Peak, ScalingFit, ScalingForm, fit_bon, fit_rl, fit_scaling_law};
pub use stats::MeanSe;
pub use summary::{EvalConfig, EvalRun, EvalSummary, evaluate_policy, evaluate_policy_detailed};
pub use teacher_forced::{
    Overflow, Scored, ScoringConfig, teacher_forced_ids, teacher_forced_logprobs,
};
pub use winrate::{WinRate, win_rate};
