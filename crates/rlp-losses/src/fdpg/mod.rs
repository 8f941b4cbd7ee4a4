//! f-DPG (Go et al., ICML 2023): the pseudo-reward `f′` of each divergence, the loss
//! coefficients and importance weights, and the importance-sampled divergence estimates.

pub mod divergence;
pub mod estimates;
pub mod loss;

pub use divergence::{Divergence, log_ratio, pseudo_reward, softplus};
pub use estimates::{DivergenceEstimates, divergence_estimates, kl_from_target};
pub use loss::{fdpg_loss, importance_weight, loss_coefficients};
