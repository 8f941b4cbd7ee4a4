//! `tweet-sentiment`, the default task of the single-method runs: continue the first words of a real tweet so
//! that the whole tweet reads as positive.
//!
//! Everything ships in the repository (`datasets/tweet-sentiment/README` gives provenance):
//! - prompts: the first words of human tweets (4,000 train, 500 eval), compiled into the
//!   library, as is the drift corpus (1,000 held-out tweets, for perplexity);
//! - the base policy (`models/tweet-sentiment/base`): a ~3M-parameter Llama decoder with a
//!   4,096-token byte-level BPE, pretrained on the corpus's 25k unlabelled tweets by `rlp sft`;
//! - the gold scorer (`models/tweet-sentiment/gold`): a 3-class sentiment classifier trained on
//!   the human labels by `rlp classifier train`, grown from the base by two layers so it is
//!   larger than any proxy reward model initialised from the policy. Its reward is
//!   `P(positive) − P(negative)` ∈ [−1, 1] over the whole tweet (prompt + continuation).
//!
//! The model directories are found under `$RLP_ASSETS/tweet-sentiment` when that is set, else
//! in the checkout the library was built from.

use std::path::PathBuf;

use rlp_core::burn::tensor::Device;
use rlp_reward::ClassifierReward;

use crate::assets::{require_model_dir, shipped_base_policy};
use crate::error::TaskError;
use crate::task::{BasePolicy, Task};

const PROMPTS_TRAIN: &str = include_str!("../../../datasets/tweet-sentiment/prompts_train.jsonl");
const PROMPTS_EVAL: &str = include_str!("../../../datasets/tweet-sentiment/prompts_eval.jsonl");
const DRIFT: &str = include_str!("../../../datasets/tweet-sentiment/drift.jsonl");

/// The task's name.
pub const NAME: &str = "tweet-sentiment";

/// The directory holding `base/` and `gold/`.
pub fn models_dir() -> PathBuf {
    crate::assets::models_dir(NAME)
}

/// One string field of every line of an embedded JSONL file.
fn field(jsonl: &str, key: &str, file: &str) -> Vec<String> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("embedded {file}:{}: {e}", i + 1));
            v[key]
                .as_str()
                .unwrap_or_else(|| panic!("embedded {file}:{}: no string `{key}`", i + 1))
                .to_owned()
        })
        .collect()
}

/// The task with its gold scorer on `device`.
pub fn tweet_sentiment(device: &Device) -> Result<Task, TaskError> {
    Ok(Task {
        name: NAME.into(),
        train_prompts: field(PROMPTS_TRAIN, "prompt", "prompts_train.jsonl"),
        eval_prompts: field(PROMPTS_EVAL, "prompt", "prompts_eval.jsonl"),
        dev_prompts: Vec::new(),
        gold: Box::new(gold(device)?),
        drift: drift(),
    })
}

/// The drift corpus: 1,000 held-out tweets (never in the base's pretraining text).
pub fn drift() -> Vec<String> {
    field(DRIFT, "text", "drift.jsonl")
}

/// The gold scorer: `P(positive) − P(negative)` from the shipped classifier.
pub fn gold(device: &Device) -> Result<ClassifierReward, TaskError> {
    let dir = models_dir().join("gold");
    require_model_dir(&dir, NAME)?;
    let mut gold = ClassifierReward::load_difference(&dir, "positive", "negative", device)?;
    gold.name = "tweet-sentiment-gold".into();
    Ok(gold)
}

/// The shipped base policy and its tokenizer.
pub fn base_policy(device: &Device) -> Result<BasePolicy, TaskError> {
    shipped_base_policy(NAME, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_prompts_and_drift() {
        let train = field(PROMPTS_TRAIN, "prompt", "prompts_train.jsonl");
        let eval = field(PROMPTS_EVAL, "prompt", "prompts_eval.jsonl");
        let drift = field(DRIFT, "text", "drift.jsonl");
        assert_eq!((train.len(), eval.len(), drift.len()), (4000, 500, 1000));
        assert!(train.iter().chain(&eval).all(|p| !p.trim().is_empty()));
    }
}
