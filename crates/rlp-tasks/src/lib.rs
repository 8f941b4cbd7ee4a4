#![doc = include_str!("../README.md")]
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
