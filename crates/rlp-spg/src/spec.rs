//! [`ClustererSpec`]: the semantic-equivalence clusterer a run names in its config, and
//! [`ClustererSpec::build`], which makes it.

use burn::tensor::Device;
use rlp_models::{CausalLm, TextTokenizer};
use serde::{Deserialize, Serialize};

use crate::answer::AnswerClusterer;
use crate::cluster::SemanticClusterer;
use crate::embedding::EmbeddingClusterer;
use crate::error::Result;
use crate::lexical::LexicalClusterer;
use crate::normalized::NormalizedTextClusterer;
use crate::policy_embed::PolicyEmbedder;

/// RLP-SPG's semantic-equivalence clusterer (the paper: bidirectional entailment under an NLI
/// model, which these machines do not have).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClustererSpec {
    /// Word-overlap leader clustering (Jaccard of normalised word sets ≥ `threshold`): offline,
    /// nothing to fetch, so the main job runs without a network; a crude judge of meaning.
    Lexical {
        /// Jaccard threshold.
        threshold: f64,
    },
    /// Cosine leader clustering of all-MiniLM-L6-v2 sentence embeddings (fetched once into
    /// the cache with `rlp fetch minilm`).
    Minilm {
        /// Cosine threshold (0.75 measured on paraphrase pairs; see [`crate::embedding`]).
        threshold: f32,
    },
    /// Cosine leader clustering of the SFT policy's mean-pooled final hidden states (measured
    /// on tweets: opposite-meaning pairs score higher than paraphrases, so prefer the others).
    Policy {
        /// Cosine threshold.
        threshold: f32,
    },
    /// Equal lower-cased, punctuation-free text (tiny tasks).
    Normalized,
    /// Equal final answers (`The answer is N.`); a response without one is a cluster of its
    /// own (convergent-answer tasks such as `arith`).
    Answer,
}

impl Default for ClustererSpec {
    fn default() -> Self {
        Self::Lexical {
            threshold: crate::lexical::DEFAULT_LEXICAL_THRESHOLD,
        }
    }
}

impl ClustererSpec {
    /// The clusterer this spec names: `sft` and `tokenizer` serve the policy-embedding one,
    /// `plain` the MiniLM encoder (fetched into the cache on first use).
    pub fn build(
        &self,
        sft: &CausalLm,
        tokenizer: &TextTokenizer,
        plain: &Device,
    ) -> Result<Box<dyn SemanticClusterer>> {
        Ok(match self {
            Self::Policy { threshold } => Box::new(
                EmbeddingClusterer::new(PolicyEmbedder::new(sft.clone(), tokenizer.clone()))
                    .with_threshold(*threshold)?
                    .with_name("sft-policy-embedding"),
            ),
            Self::Minilm { threshold } => {
                let dir = rlp_models::fetch::fetch("minilm", None)?;
                let encoder = rlp_models::bert::SentenceEncoder::load(&dir, plain)?;
                Box::new(EmbeddingClusterer::new(encoder).with_threshold(*threshold)?)
            }
            Self::Lexical { threshold } => Box::new(LexicalClusterer::with_threshold(*threshold)?),
            Self::Normalized => Box::new(NormalizedTextClusterer::default()),
            Self::Answer => Box::new(AnswerClusterer::new()),
        })
    }
}
