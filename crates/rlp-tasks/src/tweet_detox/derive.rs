//! How `datasets/tweet-detox` is made from the shipped tweets (`rlp data tweet-detox`): keep the
//! tweets the toxicity model R1 flags (`P(toxic) ≥ 0.5`, sklearn's `predict` threshold), cut
//! each to its first words as a prompt, and split the prompts into train and eval with a seeded
//! shuffle. A pure function of the tweets, the model and the seed.

use std::collections::BTreeSet;
use std::path::Path;

use rlp_core::SeededRng;
use serde::{Deserialize, Serialize};

use crate::error::TaskError;
use crate::profanity::ProfanityModel;

/// The seed of the shipped split.
pub const SEED: u64 = 20240601;
/// Share of the prompts held out for evaluation in the shipped split.
pub const EVAL_FRACTION: f64 = 0.2;

/// R1's decision threshold: a tweet is flagged when `P(toxic) ≥ FLAG_THRESHOLD`.
pub const FLAG_THRESHOLD: f64 = 0.5;

/// Fewest words a prompt keeps (after leading `RT` / `@user` tokens are dropped).
pub const MIN_PROMPT_WORDS: usize = 3;
/// Most words a prompt keeps.
pub const MAX_PROMPT_WORDS: usize = 10;
/// Fewest words a tweet needs to give a prompt (so at least three are left to continue).
pub const MIN_TWEET_WORDS: usize = 6;

/// One shipped prompt with what it was cut from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetoxPrompt {
    /// The first words of a flagged tweet.
    pub prompt: String,
    /// R1's `P(toxic)` of the prompt alone.
    pub prompt_toxicity: f64,
    /// R1's `P(toxic)` of the whole tweet (≥ [`FLAG_THRESHOLD`]).
    pub tweet_toxicity: f64,
}

/// The derived prompts and the counts behind them (written to `MANIFEST.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    /// Prompts to optimise on.
    pub train: Vec<DetoxPrompt>,
    /// Held-out prompts.
    pub eval: Vec<DetoxPrompt>,
    /// Distinct tweets scored.
    pub tweets: usize,
    /// Of those, flagged by R1.
    pub flagged: usize,
    /// Flagged tweets too short to cut a prompt from.
    pub too_short: usize,
    /// Flagged tweets whose prompt repeats an earlier one.
    pub duplicate_prompts: usize,
}

/// Every tweet under `source` (a `datasets/tweet-sentiment` directory): the lines of
/// `pretrain.txt` and the `text` of each line of `labelled_train.jsonl` and
/// `labelled_test.jsonl`. The drift corpus stays out: it is the held-out text drift is measured
/// on.
pub fn source_tweets(source: &Path) -> Result<Vec<String>, TaskError> {
    let read = |name: &str| {
        let path = source.join(name);
        std::fs::read_to_string(&path)
            .map(|text| (path.clone(), text))
            .map_err(|e| TaskError::Asset {
                path,
                message: e.to_string(),
            })
    };
    let (_, pretrain) = read("pretrain.txt")?;
    let mut tweets: Vec<String> = pretrain.lines().map(str::to_owned).collect();
    for name in ["labelled_train.jsonl", "labelled_test.jsonl"] {
        let (path, text) = read(name)?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |message: String| TaskError::Asset {
                path: path.clone(),
                message: format!("line {}: {message}", i + 1),
            };
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let text = v["text"]
                .as_str()
                .ok_or_else(|| bad("no string `text`".into()))?;
            tweets.push(text.to_owned());
        }
    }
    Ok(tweets)
}

/// The words a prompt may be cut from: whitespace-split, leading `RT` and `@`-tokens dropped.
fn words(tweet: &str) -> Vec<&str> {
    let all: Vec<&str> = tweet.split_whitespace().collect();
    let start = all
        .iter()
        .position(|w| *w != "RT" && !w.starts_with('@'))
        .unwrap_or(all.len());
    all[start..].to_vec()
}

/// The prompt of a tweet: its first `clamp(n / 2, MIN, MAX)` words, `n` the words left after
/// `words`; `None` below [`MIN_TWEET_WORDS`].
pub fn cut_prompt(tweet: &str) -> Option<String> {
    let w = words(tweet);
    if w.len() < MIN_TWEET_WORDS {
        return None;
    }
    let k = (w.len() / 2).clamp(MIN_PROMPT_WORDS, MAX_PROMPT_WORDS);
    Some(w[..k].join(" "))
}

/// Flags, cuts and splits: `eval_fraction` of the prompts (rounded) are held out. Tweets are
/// deduplicated first and visited in sorted order, so the input order does not matter.
pub fn derive(tweets: &[String], model: &ProfanityModel, eval_fraction: f64, seed: u64) -> Derived {
    let unique: BTreeSet<&str> = tweets
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .collect();
    let (mut flagged, mut too_short, mut duplicate_prompts) = (0, 0, 0);
    let mut seen = BTreeSet::new();
    let mut prompts = Vec::new();
    for tweet in &unique {
        let tweet_toxicity = model.predict_proba(tweet);
        if tweet_toxicity < FLAG_THRESHOLD {
            continue;
        }
        flagged += 1;
        let Some(prompt) = cut_prompt(tweet) else {
            too_short += 1;
            continue;
        };
        if !seen.insert(prompt.to_lowercase()) {
            duplicate_prompts += 1;
            continue;
        }
        prompts.push(DetoxPrompt {
            prompt_toxicity: model.predict_proba(&prompt),
            prompt,
            tweet_toxicity,
        });
    }
    SeededRng::new(seed)
        .fork("tweet-detox-split")
        .shuffle(&mut prompts);
    let n_eval = (prompts.len() as f64 * eval_fraction).round() as usize;
    let train = prompts.split_off(n_eval);
    Derived {
        train,
        eval: prompts,
        tweets: unique.len(),
        flagged,
        too_short,
        duplicate_prompts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_skip_retweet_markers_and_keep_half() {
        assert_eq!(
            cut_prompt("RT @user: a b c d e f g h"),
            Some("a b c d".into())
        );
        assert_eq!(
            cut_prompt("@user one two three four five six"),
            Some("one two three".into())
        );
        assert_eq!(cut_prompt("@user one two three four five"), None);
        let long = (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
        assert_eq!(
            cut_prompt(&long).unwrap().split(' ').count(),
            MAX_PROMPT_WORDS
        );
    }
}
