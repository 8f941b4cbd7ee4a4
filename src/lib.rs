//! # rlp
//!
//! Reward Learning on Policy and the RLHF methods around it, on the burn deep-learning
//! framework. This facade re-exports the workspace crates and holds the runs the `rlp` binary
//! drives:
//! - [`core`] (`rlp-core`): devices, RNG, masked ops, KL estimators, data types, JSONL, metrics,
//!   the `RewardFn` and `Judge` seams;
//! - [`models`] (`rlp-models`): the Llama-style decoder, generation, heads, tokenizer,
//!   checkpoints and the SFT trainer;
//! - [`losses`] (`rlp-losses`): the losses and estimators on burn alone;
//! - [`reward`] (`rlp-reward`): reward models, Bradley–Terry training, ensembles, labelling;
//! - [`tasks`] (`rlp-tasks`): benchmark tasks with their gold scorers;
//! - [`policy`] (`rlp-policy-opt`): PPO with KL anchors, best-of-n, DPO;
//! - [`eval`] (`rlp-eval`): gold score, KL, drift, diversity, win-rates, reports;
//! - [`ib`] (`rlp-ib`): the multi-view information bottleneck of RLP-UML;
//! - [`spg`] (`rlp-spg`): synthetic preference generation of RLP-SPG;
//! - [`pipeline`]: RLP's Algorithm 1 and its baselines end to end (the main job);
//! - [`runs`]: SFT, generation and reward models as the CLI runs them; [`toy`]: the shipped
//!   example data.
#![warn(missing_docs)]

pub use rlp_core as core;
pub use rlp_eval as eval;
pub use rlp_ib as ib;
pub use rlp_losses as losses;
pub use rlp_models as models;
pub use rlp_policy_opt as policy;
pub use rlp_reward as reward;
pub use rlp_spg as spg;
pub use rlp_tasks as tasks;
pub use rlp_train as train;

pub mod pipeline;
pub mod runs;
pub mod toy;

/// The Rust quick starts of the method pages (`docs/methods/*.md`) and the architecture page,
/// compiled as doc tests so that a page cannot drift from the API it shows.
#[cfg(doctest)]
mod method_pages {
    #[doc = include_str!("../docs/methods/dpo.md")]
    struct Dpo;
    #[doc = include_str!("../docs/methods/grpo.md")]
    struct Grpo;
    #[doc = include_str!("../docs/methods/lora.md")]
    struct Lora;
    #[doc = include_str!("../docs/methods/ppo.md")]
    struct Ppo;
    #[doc = include_str!("../docs/methods/fdpg.md")]
    struct Fdpg;
    #[doc = include_str!("../docs/methods/quark.md")]
    struct Quark;
    #[doc = include_str!("../docs/methods/rlp.md")]
    struct Rlp;
    #[doc = include_str!("../docs/methods/elastic-reset.md")]
    struct ElasticReset;
    #[doc = include_str!("../docs/methods/sft.md")]
    struct Sft;
    #[doc = include_str!("../docs/methods/reward.md")]
    struct Reward;
    #[doc = include_str!("../docs/methods/best-of-n.md")]
    struct BestOfN;
    #[doc = include_str!("../docs/methods/online-dpo.md")]
    struct OnlineDpo;
    #[doc = include_str!("../docs/architecture.md")]
    struct Architecture;
}
