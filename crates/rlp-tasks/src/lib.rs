//! # rlp-tasks
//!
//! The benchmark tasks every `rlp` method is measured on (`../shared/ARCHITECTURE.md`): a
//! [`Task`] holds train and eval prompts, a gold [`RewardFn`](rlp_core::RewardFn) that plays the
//! human, and a drift corpus; each task also names its base policy.
//!
//! - [`synthetic`]: a 40-word toy world whose reward models train in seconds (tests);
//! - [`profanity`]: a pure-Rust port of the `alt-profanity-check` toxicity model, the gold
//!   scorer of the detoxification task, with its numbers fetched by [`fetch::fetch_profanity`].
#![warn(missing_docs)]

pub mod fetch;
pub mod profanity;
pub mod synthetic;
pub mod task;

pub use task::{BasePolicy, TASKS, Task};

/// The task called `name` (one of [`TASKS`]), seeded.
pub fn load_task(name: &str, seed: u64) -> Result<Task, String> {
    match name {
        "synthetic" => Ok(synthetic::synthetic(seed)),
        other => Err(format!(
            "unknown task `{other}` (known: {})",
            TASKS.join(", ")
        )),
    }
}
