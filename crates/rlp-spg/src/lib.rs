//! # rlp-spg
//!
//! Synthetic preference generation of RLP-SPG (Lang, Huang and Li, "Fine-Tuning Language
//! Models with Reward Learning on Policy", NAACL 2024; `docs/algorithms.md`, "RLP: Reward Learning on Policy").
//! After the first PPO round, the reward model is retrained on the human preferences D together
//! with synthetic ones D̂ made from the policy's own samples:
//!
//! 1. [`sample_responses`]: n = 10 responses per unlabelled prompt from the PPO policy at
//!    temperature 1.0, deterministic for a seed;
//! 2. a [`SemanticClusterer`] groups them by meaning: [`EntailmentClusterer`] (bidirectional
//!    entailment over any [`EntailmentScorer`], the paper's choice after Kuhn et al. 2023),
//!    [`EmbeddingClusterer`] (cosine of sentence embeddings from any [`Embedder`]:
//!    all-MiniLM-L6-v2, or the policy's own hidden states with [`PolicyEmbedder`]) or
//!    [`NormalizedTextClusterer`] (equal normal forms, for tiny tasks) or [`AnswerClusterer`]
//!    (equal final answers, for convergent-answer tasks such as `arith`);
//! 3. [`build_pairs`]: confidence = |largest cluster| / n; prompts below γ = 0.5 are skipped;
//!    `y_w` = the largest cluster's member with the highest reward-model score, `y_l` = a random
//!    response from the other clusters ([`spg_pair`] is the rule for one prompt). An
//!    [`SpgReport`] says how many prompts were kept and why the others were not.
//!
//! The union D ∪ D̂ and the retraining are the reward crate's (`rlp_reward`).
#![warn(missing_docs)]

pub mod answer;
pub mod cluster;
pub mod config;
pub mod embedding;
pub mod entailment;
pub mod error;
pub mod lexical;
pub mod normalized;
pub mod outcome;
pub mod pairs;
pub mod policy_embed;
pub mod precision;
pub mod report;
pub mod sample;
pub mod spec;

pub use answer::AnswerClusterer;
pub use cluster::{
    ClusterInput, SemanticClusterer, canonical_ids, cluster_by_representative, cluster_sizes,
    largest_cluster,
};
pub use config::SpgConfig;
pub use embedding::{DEFAULT_THRESHOLD, Embedder, EmbeddingClusterer};
pub use entailment::{EntailmentClusterer, EntailmentScorer};
pub use error::{Result, SpgError};
pub use lexical::{DEFAULT_LEXICAL_THRESHOLD, LexicalClusterer, jaccard};
pub use normalized::{NormalizedTextClusterer, normalize};
pub use outcome::SpgOutcome;
pub use pairs::{build_pairs, loser_rng, spg_outcomes, spg_pair};
pub use policy_embed::PolicyEmbedder;
pub use precision::PairPrecision;
pub use report::SpgReport;
pub use sample::{sample_responses, sample_responses_with_progress, sample_rng};
pub use spec::ClustererSpec;
