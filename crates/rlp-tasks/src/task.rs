//! [`Task`]: one benchmark world in the protocol of Gao et al. and Coste et al.
//! (`docs/algorithms.md`): prompts to optimise on and to evaluate on, a gold [`RewardFn`]
//! that plays the human, a drift corpus of held-out text for perplexity, and the base policy
//! every method starts from.

use rlp_core::RewardFn;
use rlp_models::{CausalLm, TextTokenizer};

/// The names [`crate::load_task`] knows.
pub const TASKS: &[&str] = &["tweet-sentiment", "tweet-detox", "arith", "synthetic"];

/// The task a single-method run (`rlp ppo`, `rlp eval`, …) uses when none is named (the RLP
/// pipeline's main job runs `arith`).
pub const DEFAULT_TASK: &str = "tweet-sentiment";

/// A benchmark task.
pub struct Task {
    /// The task's name.
    pub name: String,
    /// Prompts to optimise on.
    pub train_prompts: Vec<String>,
    /// Held-out prompts to evaluate on.
    pub eval_prompts: Vec<String>,
    /// Held-out prompts for choosing settings, disjoint from the train and eval prompts (empty
    /// where the task has none; see [`Task::evaluated_on`]).
    pub dev_prompts: Vec<String>,
    /// The gold scorer (plays the human labeller).
    pub gold: Box<dyn RewardFn>,
    /// Held-out human-like text for drift (perplexity) measurements.
    pub drift: Vec<String>,
}

/// Which held-out prompts a run evaluates on: the reported `eval` split, or the `dev` split on
/// which settings are chosen (so that the reported split is touched once, with the config
/// frozen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalSplit {
    /// The eval prompts (what results are reported on).
    #[default]
    Eval,
    /// The dev prompts (for development runs).
    Dev,
}

impl Task {
    /// The task with `split`'s prompts as its eval prompts: unchanged for
    /// [`EvalSplit::Eval`], the dev prompts for [`EvalSplit::Dev`] (an error naming the task
    /// when it has none).
    pub fn evaluated_on(mut self, split: EvalSplit) -> Result<Self, crate::TaskError> {
        if split == EvalSplit::Dev {
            if self.dev_prompts.is_empty() {
                return Err(crate::TaskError::NoDevSplit {
                    task: self.name.clone(),
                });
            }
            self.eval_prompts = std::mem::take(&mut self.dev_prompts);
        }
        Ok(self)
    }
}

/// A base policy and its tokenizer.
pub struct BasePolicy {
    /// The decoder.
    pub model: CausalLm,
    /// Its tokenizer.
    pub tokenizer: TextTokenizer,
}
