//! PPO for RLHF (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et al. 2022): the per-token
//! KL-penalised reward, generalised advantage estimation, the clipped policy and value losses,
//! and the fixed and adaptive KL controllers.

pub mod gae;
pub mod kl_control;
pub mod losses;
pub mod rewards;

pub use gae::{Gae, gae};
pub use kl_control::{KlControl, KlController};
pub use losses::{PolicyLossStats, ValueLossStats, policy_loss, value_loss};
pub use rewards::{TokenRewards, token_rewards};
