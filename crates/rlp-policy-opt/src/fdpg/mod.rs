//! f-DPG (Go et al., ICML 2023, "Aligning Language Models with Preferences through
//! f-divergence Minimization"; `docs/algorithms.md`, "f-DPG"): train the policy π to
//! approximate a target distribution `p = P/Z` by minimising an f-divergence `D_f(π‖p)`.
//!
//! - Target ([`Target`]): `P(x) = a(x)·exp(r(x)/β)` (RLHF-style, `a` the frozen initial model)
//!   or `P(x) = a(x)·b(x)` with a 0/1 constraint `b`, in log space.
//! - Gradient: `∇_θ D_f(π_θ‖p) = E_{x∼π}[f′(π(x)/p(x)) ∇_θ log π(x)]`, estimated from samples of
//!   a proposal `q` as a policy gradient with pseudo-reward `R(x) = −f′(t)`,
//!   `t = π(x)/p(x) = exp(log π − log P + log Ẑ)`, importance weight `w = π/q` and a moving-average
//!   baseline `B`: the loss is `−mean_i w_i (R_i − B) log π(x_i)` ([`fdpg_loss`]).
//! - `f′` ([`Divergence`]): forward KL `−1/t`, reverse KL `log t + 1`, Jensen–Shannon
//!   `log(2t/(1+t))` (the default), total variation `½ sign(log t)`, computed from `log t` and
//!   with `log t` clipped to `±log_ratio_clip` so `t = 0` and `t = ∞` stay finite.
//! - `Z` ([`PartitionEstimate`]): `Ẑ = mean_i P(x_i)/q(x_i)`, a cumulative average over every
//!   sample seen (log-sum-exp), weights optionally clipped. `Ẑ` is updated with the batch before
//!   the batch's `t` is computed.
//! - Proposal ([`Proposal`]): online (`q = π`, default) or offline (`q` the initial model),
//!   optionally replaced by π when π's IS estimate of `KL(p‖π)` is below `KL(p‖q)` (DPG's rule).
//! - Metrics ([`DivergenceEstimates`]): IS estimates of `KL(p‖π)`, `TV(p, π)`, `JS(p, π)` from the
//!   batch, reported per step in [`FdpgStats`] with the pseudo-reward, baseline, `log Ẑ`, mean
//!   reward and (pointwise) acceptance rate.
//!
//! Prompts: [`FdpgTrainer::step`] samples `batch_size` responses, taking its prompts round-robin.
//! By default one `Ẑ` is shared by all prompts (exact when `Z(x)` does not depend on the prompt,
//! and the paper's unconditional setting); `z_per_prompt` keeps one per prompt string, the
//! conditional target `p(y|x) = P(x, y)/Z(x)`, which needs several samples per prompt per step.

pub mod baseline;
pub mod config;
pub mod partition;
pub mod run;
pub mod state;
pub mod target;
pub mod trainer;

pub use rlp_losses::fdpg::{divergence, estimates, loss};

pub use baseline::MovingBaseline;
pub use config::{FdpgConfig, Proposal};
pub use divergence::{Divergence, log_ratio, pseudo_reward, softplus};
pub use estimates::{DivergenceEstimates, divergence_estimates, kl_from_target};
pub use loss::{fdpg_loss, importance_weight, loss_coefficients};
pub use partition::{PartitionEstimate, log_mean_exp, log_sum_exp};
pub use run::FdpgRun;
pub use target::{ACCEPT_THRESHOLD, Target, accepts};
pub use trainer::{FdpgStats, FdpgTrainer};
