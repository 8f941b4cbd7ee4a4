#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod dts;
pub mod encoder;
pub mod error;
pub mod head;
pub mod mi;
pub mod mlp;
pub mod objective;
pub mod skl;
pub mod uml;
pub mod warmup;

pub use dts::{ACTIVE_VARIANCE, DtsTerms, active_dims, dts_terms};
pub use encoder::{Gaussian, GaussianEncoder, standard_normal};
pub use error::{IbError, Result};
pub use head::{HeadShape, IbHead, IbStats};
pub use mi::{Critic, infonce_mi, js_mi, score_matrix};
pub use mlp::Mlp3;
pub use objective::{BetaSchedule, DtsWeights, LossTerms, Objective, ViewCode};
pub use skl::{kl_diag, sample_skl, skl_diag};
pub use uml::{UmlConfig, UmlModel, UmlReport, UmlStepInfo, ViewPair, train_uml};
pub use warmup::{frozen_views, warm_up_head};
