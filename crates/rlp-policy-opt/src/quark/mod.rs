//! Quark (Lu et al., NeurIPS 2022, "Quark: Controllable Text Generation with Reinforced
//! Unlearning"): reward-conditioned fine-tuning on quantised samples, with a KL penalty to the
//! initial model and an entropy bonus.
//!
//! - Reward tokens ([`tokens`]): `K` new vocabulary entries `r_0` (worst) … `r_{K−1}` (best),
//!   `<|quark_0|> … <|quark_{K−1}|>`, added to the tokenizer and the policy
//!   ([`rlp_models::vocab`]: new embedding rows drawn per dimension from the existing rows'
//!   mean and standard deviation). The conditioning places `r_k` as the first token of the
//!   prompt.
//! - Data pool ([`DataPool`]): `(x, y, R)` triples, initialised with samples of the initial policy
//!   π₀; every exploration phase adds samples of the policy conditioned on `r_{K−1}`.
//! - Quantisation ([`quantize`]): the pool, sorted by reward (ties by pool order), split into `K`
//!   quantiles whose sizes differ by at most one; rank `i` of `n` goes to quantile `⌊iK/n⌋`.
//!   Re-quantised after every exploration phase.
//! - Loss ([`quark_loss`]), per response token of a sample in quantile `k`:
//!   `−log π(y_t|r_k, x, y_<t) + β·KL(π(·|r_k, x, y_<t) ‖ π₀(·|x, y_<t)) − α·H(π(·|r_k, x, y_<t))`,
//!   KL and entropy exact over the original vocabulary (π renormalised over it: the reward tokens
//!   are never outputs), averaged over response tokens; β = 0.05, α = 0.06 by default.
//! - Inference ([`QuarkTrainer::generate_best`]): sample conditioned on `r_{K−1}`.

pub mod batch;
pub mod config;
pub mod pool;
pub mod quantile;
pub mod run;
pub mod state;
pub mod tokens;
pub mod trainer;

pub use rlp_losses::quark as loss;

pub use batch::{BatchRow, QuarkBatch};
pub use config::QuarkConfig;
pub use loss::{QuarkLossStats, quark_loss};
pub use pool::{DataPool, PoolSample};
pub use quantile::{QuantileBounds, Quantiles, quantize};
pub use run::QuarkRun;
pub use tokens::{condition, reward_token, reward_tokens};
pub use trainer::{ExploreStats, PhaseStats, QuarkTrainer, TrainStats};
