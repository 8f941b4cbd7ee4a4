//! `tweet-sentiment`, the default task of the single-method runs: continue the first words of a real tweet so
//! that the whole tweet reads as positive.
//!
//! Everything ships in the repository (`datasets/tweet-sentiment/README` gives provenance):
//! - prompts: the first words of human tweets (4,000 train, 500 eval), and the drift corpus
//!   (1,000 held-out tweets, for perplexity), read from `datasets/tweet-sentiment`;
//! - the base policy (`models/tweet-sentiment/base`): a ~3M-parameter Llama decoder with a
//!   4,096-token byte-level BPE, pretrained on the corpus's 25k unlabelled tweets by `rlp sft`;
//! - the gold scorer (`models/tweet-sentiment/gold`): a 3-class sentiment classifier trained on
//!   the human labels by `rlp classifier train`, grown from the base by two layers so it is
//!   larger than any proxy reward model initialised from the policy. Its reward is
//!   `P(positive) − P(negative)` ∈ [−1, 1] over the whole tweet (prompt + continuation).
//!
//! The files are found at run time as [`crate::assets`] says: in the checkout the library was
//! built from, unless `$RLP_ASSETS` (models) or `$RLP_DATASETS` (prompts) name another root.

use std::path::PathBuf;

use rlp_core::burn::tensor::Device;
use rlp_reward::ClassifierReward;

use crate::assets::{require_model_dir, shipped_base_policy};
use crate::error::TaskError;
use crate::task::{BasePolicy, Task};

/// The task's name.
pub const NAME: &str = "tweet-sentiment";

/// The directory holding `base/` and `gold/`.
pub fn models_dir() -> PathBuf {
    crate::assets::models_dir(NAME)
}

/// The string field `key` of every record of the dataset file `file`.
fn field(file: &str, key: &str) -> Result<Vec<String>, TaskError> {
    let records: Vec<serde_json::Value> = crate::assets::read_jsonl(NAME, file)?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| TaskError::Asset {
                    path: crate::assets::datasets_dir(NAME).join(file),
                    message: format!("record {}: no string `{key}`", i + 1),
                })
        })
        .collect()
}

/// The task with its gold scorer on `device`.
pub fn tweet_sentiment(device: &Device) -> Result<Task, TaskError> {
    Ok(Task {
        name: NAME.into(),
        train_prompts: field("prompts_train.jsonl", "prompt")?,
        eval_prompts: field("prompts_eval.jsonl", "prompt")?,
        dev_prompts: Vec::new(),
        gold: Box::new(gold(device)?),
        drift: drift()?,
    })
}

/// The drift corpus: 1,000 held-out tweets (never in the base's pretraining text).
pub fn drift() -> Result<Vec<String>, TaskError> {
    field("drift.jsonl", "text")
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
    fn shipped_prompts_and_drift() {
        let train = field("prompts_train.jsonl", "prompt").unwrap();
        let eval = field("prompts_eval.jsonl", "prompt").unwrap();
        let drift = drift().unwrap();
        assert_eq!((train.len(), eval.len(), drift.len()), (4000, 500, 1000));
        assert!(train.iter().chain(&eval).all(|p| !p.trim().is_empty()));
    }
}
