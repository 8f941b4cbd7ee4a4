//! Direct Preference Optimization (Rafailov et al. 2023; `docs/algorithms.md`, "DPO and online DPO"):
//! the policy is trained directly on preference pairs with
//! `L = −log σ(β[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))])`, β = 0.1,
//! against a frozen reference model, with no reward model and no sampling.
//!
//! - [`dpo_loss`]: the loss on sequence log-probs (with optional label smoothing);
//! - [`encode_preferences`] / [`sequence_logprobs`]: pairs as ids, response-masked sums;
//! - [`DpoTrainer`]: AdamW steps and evaluation; [`DpoRun`]: the resumable epochs over a
//!   dataset, driven by `rlp_train::drive`.

pub mod encode;
pub mod trainer;

pub use rlp_losses::dpo as loss;

pub use encode::{EncodedPreference, encode_preferences, sequence_logprobs};
pub use loss::{DpoLossStats, dpo_loss};
pub use trainer::{DpoConfig, DpoEval, DpoReport, DpoRun, DpoStepStats, DpoTrainer};
