#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

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
pub use rlp_losses::bradley_terry;
pub use rlp_losses::bradley_terry::{BtConfig, bt_loss, pair_accuracy};
pub use rlp_train::{EpochOutcome, EpochPlan, StepInfo, run_epochs};
pub use train::{
    RmBatchLoss, RmTrainConfig, RmTrainData, RmTrainReport, RmTrainer, reward_trainer,
    train_reward_model,
};
