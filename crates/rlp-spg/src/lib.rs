#![doc = include_str!("../README.md")]
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
