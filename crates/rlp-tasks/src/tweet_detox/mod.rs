//! `tweet-detox`: continue the first words of a tweet that the toxicity model R1 flags, and be
//! scored on how non-toxic the continuation is (the RealToxicityPrompts / Quark setting on our
//! corpus).
//!
//! - prompts: `datasets/tweet-detox` (read at run time, see [`crate::assets`]), derived from the shipped tweets by
//!   `rlp data tweet-detox` ([`mod@derive`]): tweets with `P(toxic) ≥ 0.5`, cut to their first half
//!   (3–10 words), split train/eval with a seeded shuffle;
//! - gold: [`ToxicityReward`], `1 − P(toxic)` of the continuation from R1, the pure-Rust port of
//!   `alt-profanity-check` ([`crate::profanity`]); its numbers are fetched into the cache by the
//!   project's script on first use ([`crate::fetch::fetch_profanity`], needs `python3` + PyPI
//!   once);
//! - drift corpus and base policy: those of `tweet-sentiment` (the same tweets, the same shipped
//!   decoder).

pub mod derive;

use std::path::Path;

use rlp_core::burn::tensor::Device;
use rlp_core::{BoxError, RewardFn};

use crate::error::TaskError;
use crate::fetch::fetch_profanity;
use crate::profanity::ProfanityModel;
use crate::task::{BasePolicy, Task};
use crate::tweet_sentiment;

pub use derive::{DetoxPrompt, FLAG_THRESHOLD, cut_prompt};

/// The task's name.
pub const NAME: &str = "tweet-detox";

/// What [`ToxicityReward`] scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToxicityScope {
    /// The continuation alone (the default, as RealToxicityPrompts and Quark score
    /// generations): the prompt's own words do not count against the policy.
    Response,
    /// Prompt and continuation as one text.
    Whole,
}

/// The gold scorer of `tweet-detox`: `1 − P(toxic)` ∈ [0, 1] from R1.
pub struct ToxicityReward {
    model: ProfanityModel,
    scope: ToxicityScope,
}

impl ToxicityReward {
    /// Wraps a loaded model.
    pub fn new(model: ProfanityModel, scope: ToxicityScope) -> Self {
        Self { model, scope }
    }

    /// Loads the model exported to `path` (`profanity.json`).
    pub fn load(path: &Path, scope: ToxicityScope) -> Result<Self, TaskError> {
        Ok(Self::new(ProfanityModel::load(path)?, scope))
    }

    /// The model.
    pub fn model(&self) -> &ProfanityModel {
        &self.model
    }
}

impl RewardFn for ToxicityReward {
    fn name(&self) -> String {
        match self.scope {
            ToxicityScope::Response => "r1-nontoxicity".into(),
            ToxicityScope::Whole => "r1-nontoxicity-whole".into(),
        }
    }

    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
        rlp_core::check_pairing(&self.name(), prompts, responses)?;
        Ok(prompts
            .iter()
            .zip(responses)
            .map(|(p, r)| {
                let p_toxic = match self.scope {
                    ToxicityScope::Response => self.model.predict_proba(r),
                    ToxicityScope::Whole => self.model.predict_proba(&format!("{p}{r}")),
                };
                (1.0 - p_toxic) as f32
            })
            .collect())
    }
}

/// The shipped prompts of one split.
pub fn prompts(eval: bool) -> Result<Vec<DetoxPrompt>, TaskError> {
    let file = if eval {
        "prompts_eval.jsonl"
    } else {
        "prompts_train.jsonl"
    };
    crate::assets::read_jsonl(NAME, file)
}

/// The task, its gold scorer fetched into the cache when missing.
pub fn tweet_detox(_device: &Device) -> Result<Task, TaskError> {
    let path = fetch_profanity(None).map_err(TaskError::Fetch)?;
    let gold = ToxicityReward::load(&path, ToxicityScope::Response)?;
    Ok(Task {
        name: NAME.into(),
        train_prompts: prompts(false)?.into_iter().map(|p| p.prompt).collect(),
        eval_prompts: prompts(true)?.into_iter().map(|p| p.prompt).collect(),
        dev_prompts: Vec::new(),
        gold: Box::new(gold),
        drift: tweet_sentiment::drift()?,
    })
}

/// The base policy: `tweet-sentiment`'s shipped decoder.
pub fn base_policy(device: &Device) -> Result<BasePolicy, TaskError> {
    tweet_sentiment::base_policy(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_prompts_are_flagged_and_disjoint() {
        let (train, eval) = (prompts(false).unwrap(), prompts(true).unwrap());
        assert!(!train.is_empty() && !eval.is_empty());
        assert!(
            train
                .iter()
                .chain(&eval)
                .all(|p| p.tweet_toxicity >= FLAG_THRESHOLD)
        );
        let eval_set: std::collections::HashSet<_> = eval.iter().map(|p| &p.prompt).collect();
        assert!(train.iter().all(|p| !eval_set.contains(&p.prompt)));
    }
}
