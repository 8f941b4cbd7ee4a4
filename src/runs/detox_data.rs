//! `rlp data tweet-detox`: derive `datasets/tweet-detox` from the shipped tweets with the
//! toxicity model R1 (see [`rlp_tasks::tweet_detox::derive`]).

use std::path::Path;

use anyhow::{Context, Result};
use rlp_core::jsonl::write_jsonl;
use rlp_tasks::fetch::fetch_profanity;
use rlp_tasks::profanity::ProfanityModel;
use rlp_tasks::tweet_detox::derive::{self, Derived};

/// Derives the prompts from `source` and writes `prompts_train.jsonl`, `prompts_eval.jsonl` and
/// `MANIFEST.json` to `out`; `cache` is where R1 is fetched (default cache when `None`).
pub fn write_tweet_detox(source: &Path, out: &Path, cache: Option<&Path>) -> Result<Derived> {
    let model_path = fetch_profanity(cache).map_err(anyhow::Error::msg)?;
    let model = ProfanityModel::load(&model_path)?;
    let tweets = derive::source_tweets(source)?;
    let derived = derive::derive(&tweets, &model, derive::EVAL_FRACTION, derive::SEED);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_jsonl(out.join("prompts_train.jsonl"), &derived.train)?;
    write_jsonl(out.join("prompts_eval.jsonl"), &derived.eval)?;
    let manifest = serde_json::json!({
        "dataset": "tweet-detox",
        "command": format!("rlp data tweet-detox --source {} --out {}", source.display(), out.display()),
        "source": "datasets/tweet-sentiment: pretrain.txt, labelled_train.jsonl, labelled_test.jsonl",
        "scorer": "alt-profanity-check==1.9.1 (PyPI), exported by crates/rlp-tasks/scripts/export_profanity.py, run by rlp_tasks::profanity",
        "flag_threshold": derive::FLAG_THRESHOLD,
        "prompt_words": format!("first half of the words after leading RT/@ tokens, clamped to {}..={}; tweets of at least {} words", derive::MIN_PROMPT_WORDS, derive::MAX_PROMPT_WORDS, derive::MIN_TWEET_WORDS),
        "seed": derive::SEED,
        "eval_fraction": derive::EVAL_FRACTION,
        "counts": {
            "tweets_scored": derived.tweets,
            "flagged": derived.flagged,
            "too_short": derived.too_short,
            "duplicate_prompts": derived.duplicate_prompts,
            "prompts_train": derived.train.len(),
            "prompts_eval": derived.eval.len(),
        },
    });
    let path = out.join("MANIFEST.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(derived)
}
