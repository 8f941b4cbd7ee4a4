//! # rlp-reward
//!
//! Reward models for the `rlp` workspace (`docs/algorithms.md`, "Reward model" and
//! "Reward-model ensembles and best-of-n"):
//!
//! - [`RewardModel`]: a decoder backbone with a scalar head on the last real token, initialised
//!   from a policy checkpoint, with full or top-layers-only training ([`Trainable`]);
//! - [`bt_loss`]: the Bradley–Terry loss with optional margins and L2 on the scores, and
//!   [`pair_accuracy`];
//! - [`train_reward_model`] and [`evaluate`]: AdamW training and held-out accuracy, with the
//!   pairs no model can learn from skipped and counted ([`SkipCounts`]);
//! - [`train_probe`]: a linear probe on a frozen backbone (features extracted once), for large
//!   pretrained backbones on a CPU;
//! - [`Ensemble`]: `k` reward functions combined by mean, WCO or UWO — itself a [`RewardFn`];
//! - [`label_pairs`] / [`sample_and_label`]: synthetic preferences from a gold scorer with label
//!   noise;
//! - [`LearnedReward`]: a trained model and its tokenizer as a [`RewardFn`];
//! - [`SequenceClassifier`]: the same backbone with a `C`-class head, trained by
//!   [`train_classifier`] on labelled texts, and [`ClassifierReward`] scoring by its class
//!   probabilities (gold scorers such as `P(positive) − P(negative)`).
//!
//! [`RewardFn`]: rlp_core::RewardFn
#![warn(missing_docs)]

pub mod bradley_terry;
pub mod classifier;
pub mod encode;
pub mod ensemble;
pub mod error;
pub mod eval;
pub mod label;
pub mod learned;
pub mod model;
pub mod normalize;
pub mod probe;
pub mod train;

pub use bradley_terry::{BtConfig, bt_loss, pair_accuracy};
pub use classifier::SequenceClassifier;
pub use classifier::reward::ClassifierReward;
pub use classifier::train::{
    ClassifierEvalReport, ClassifierTrainConfig, ClassifierTrainReport, ClassifierTrainer,
    EncodedCounts, classifier_report, classifier_trainer, cross_entropy, evaluate_classifier,
    train_classifier,
};
pub use encode::{
    EncodedPair, Overlong, ScoreBatch, SkipCounts, collate_scores, encode_for_scoring, encode_pairs,
};
pub use ensemble::{Aggregation, Ensemble};
pub use error::{Result, RewardError};
pub use eval::{EvalReport, evaluate, score_pairs};
pub use label::{LabelConfig, LabelReport, label_pairs, sample_and_label};
pub use learned::LearnedReward;
pub use model::{RewardModel, Trainable};
pub use normalize::{NormSet, normalize_saved};
pub use probe::{ProbeConfig, extract_features, fit_probe, train_probe};
pub use rlp_train::{EpochOutcome, EpochPlan, StepInfo, run_epochs};
pub use train::{
    RmBatchLoss, RmTrainConfig, RmTrainData, RmTrainReport, RmTrainer, reward_trainer,
    train_reward_model,
};
