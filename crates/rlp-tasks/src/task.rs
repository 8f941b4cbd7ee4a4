//! [`Task`]: one benchmark world in the protocol of Gao et al. and Coste et al.
//! (`../shared/ALGORITHMS.md`): prompts to optimise on and to evaluate on, a gold [`RewardFn`]
//! that plays the human, a drift corpus of held-out text for perplexity, and the base policy
//! every method starts from.

use rlp_core::RewardFn;
use rlp_models::{CausalLm, TextTokenizer};

/// The names [`crate::load_task`] knows.
pub const TASKS: &[&str] = &["tweet-sentiment", "tweet-detox", "arith", "synthetic"];

/// The embedded default task.
pub const DEFAULT_TASK: &str = "tweet-sentiment";

/// A benchmark task.
pub struct Task {
    /// The task's name.
    pub name: String,
    /// Prompts to optimise on.
    pub train_prompts: Vec<String>,
    /// Held-out prompts to evaluate on.
    pub eval_prompts: Vec<String>,
    /// The gold scorer (plays the human labeller).
    pub gold: Box<dyn RewardFn>,
    /// Held-out human-like text for drift (perplexity) measurements.
    pub drift: Vec<String>,
}

/// A base policy and its tokenizer.
pub struct BasePolicy {
    /// The decoder.
    pub model: CausalLm,
    /// Its tokenizer.
    pub tokenizer: TextTokenizer,
}
