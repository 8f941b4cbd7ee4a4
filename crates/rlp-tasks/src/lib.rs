//! # rlp-tasks
//!
//! The benchmark tasks every `rlp` method is measured on: a
//! [`Task`] holds train and eval prompts, a gold [`RewardFn`](rlp_core::RewardFn) that plays the
//! human, and a drift corpus; [`load_base_policy`] gives the policy each task starts from.
//!
//! - [`tweet_sentiment`]: the default task of the single-method runs — real tweets, a shipped pretrained base decoder
//!   and a gold sentiment classifier trained on human labels;
//! - [`tweet_detox`]: continue tweets the toxicity model flags, scored by `1 − P(toxic)` of the
//!   continuation;
//! - [`arith`]: arithmetic word problems with one correct integer answer (gold = the answer
//!   line is right), the convergent-answer setting of RLP-SPG, generated from one seed;
//! - [`synthetic`]: a 40-word toy world whose reward models train in seconds (tests);
//! - [`profanity`]: a pure-Rust port of the `alt-profanity-check` toxicity model, the gold
//!   scorer of the detoxification task, with its numbers fetched by [`fetch::fetch_profanity`].
#![warn(missing_docs)]

pub mod arith;
pub mod assets;
pub mod error;
pub mod fetch;
pub mod profanity;
pub mod synthetic;
pub mod task;
pub mod tweet_detox;
pub mod tweet_sentiment;

use rlp_core::burn::tensor::Device;

pub use error::TaskError;
pub use task::{BasePolicy, DEFAULT_TASK, EvalSplit, TASKS, Task};

/// The task called `name` (one of [`TASKS`]), seeded where it is generated, with its gold scorer
/// on `device`.
pub fn load_task(name: &str, seed: u64, device: &Device) -> Result<Task, TaskError> {
    match name {
        "synthetic" => Ok(synthetic::synthetic(seed)),
        arith::NAME => Ok(arith::arith()),
        tweet_sentiment::NAME => tweet_sentiment::tweet_sentiment(device),
        tweet_detox::NAME => tweet_detox::tweet_detox(device),
        other => Err(TaskError::Unknown {
            name: other.into(),
            known: TASKS.join(", "),
        }),
    }
}

/// The base policy `task` starts from, on `device` (`seed` initialises generated ones).
pub fn load_base_policy(task: &Task, seed: u64, device: &Device) -> Result<BasePolicy, TaskError> {
    match task.name.as_str() {
        "synthetic" => Ok(synthetic::base_policy(task, seed, device)?),
        arith::NAME => arith::base_policy(device),
        tweet_sentiment::NAME => tweet_sentiment::base_policy(device),
        tweet_detox::NAME => tweet_detox::base_policy(device),
        other => Err(TaskError::Unknown {
            name: other.into(),
            known: TASKS.join(", "),
        }),
    }
}
