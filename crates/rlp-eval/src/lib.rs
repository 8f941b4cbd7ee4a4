#![doc = include_str!("../README.md")]
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
