//! # rlp-ib
//!
//! The multi-view information bottleneck of RLP-UML (Lang, Huang, Li, NAACL 2024;
//! `docs/algorithms.md`, "RLP: Reward Learning on Policy"): the reward model is retrained on the human
//! preferences `D` with `L = L_BT(D) + λ·L_M`, where `L_M` makes the reward model's
//! representation of a policy response keep what two responses to the same prompt share and
//! drop the rest (Federici et al., ICLR 2020).
//!
//! - [`GaussianEncoder`]: `p(z|v) = N(μ(h), diag σ(h)²)` over the reward model's final-layer
//!   representation `h`, reparameterised samples with seeded noise;
//! - [`sample_skl`] / [`skl_diag`]: the symmetrised KL `D_SKL` between the two views'
//!   posteriors, from samples (as trained) and in closed form;
//! - [`js_mi`] / [`infonce_mi`]: the Jensen–Shannon and InfoNCE mutual-information estimators
//!   with a learned [`Critic`];
//! - [`Objective`]: MIB (`−I_JS(z₁; z₂) + β·D_SKL`, the default) and the paper's ablations
//!   InfoMax, MVI and contrastive, with the [`BetaSchedule`] of `β`;
//! - [`IbHead`]: encoder and critic as one module, `L_M` on a batch of view pairs;
//! - [`train_uml`]: the retraining run, reward model and head optimised jointly.
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

pub use dts::{DtsTerms, dts_terms};
pub use encoder::{Gaussian, GaussianEncoder, standard_normal};
pub use error::{IbError, Result};
pub use head::{HeadShape, IbHead, IbStats};
pub use mi::{Critic, infonce_mi, js_mi, score_matrix};
pub use mlp::Mlp3;
pub use objective::{BetaSchedule, DtsWeights, LossTerms, Objective, ViewCode};
pub use skl::{kl_diag, sample_skl, skl_diag};
pub use uml::{UmlConfig, UmlModel, UmlReport, UmlStepInfo, ViewPair, train_uml};
pub use warmup::{frozen_views, warm_up_head};
