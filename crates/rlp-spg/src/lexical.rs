//! [`LexicalClusterer`]: near-duplicate responses by word overlap — the Jaccard similarity of
//! their sets of [`normalize`]d words, `|A ∩ B| / |A ∪ B|`, with the leader procedure of
//! [`cluster_by_representative`]. It needs no model, so RLP-SPG can run offline on any task;
//! it is a far cruder judge of meaning than the bidirectional entailment the paper uses (Lang
//! et al., NAACL 2024, §3.3) or sentence embeddings ([`crate::EmbeddingClusterer`]): it merges
//! responses that share most of their words, whatever they mean ("loved it" and "hated it"
//! share half their words), and splits paraphrases worded differently.

use std::collections::HashSet;

use crate::cluster::{ClusterInput, SemanticClusterer, cluster_by_representative};
use crate::error::{Result, SpgError};
use crate::normalized::normalize;

/// Default Jaccard threshold: at least half of the two responses' distinct words shared.
pub const DEFAULT_LEXICAL_THRESHOLD: f64 = 0.5;

/// Leader clustering at a Jaccard threshold over normalised word sets (module docs).
#[derive(Debug, Clone)]
pub struct LexicalClusterer {
    threshold: f64,
    input: ClusterInput,
}

impl Default for LexicalClusterer {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_LEXICAL_THRESHOLD,
            input: ClusterInput::Response,
        }
    }
}

/// `|A ∩ B| / |A ∪ B|` of the normalised word sets of `a` and `b`; two texts without words
/// are identical (1).
pub fn jaccard(a: &str, b: &str) -> f64 {
    let (na, nb) = (normalize(a), normalize(b));
    let sa: HashSet<&str> = na.split(' ').filter(|w| !w.is_empty()).collect();
    let sb: HashSet<&str> = nb.split(' ').filter(|w| !w.is_empty()).collect();
    let union = sa.union(&sb).count();
    if union == 0 {
        return 1.0;
    }
    sa.intersection(&sb).count() as f64 / union as f64
}

impl LexicalClusterer {
    /// The clusterer at `threshold` ∈ (0, 1] (responses join a cluster when their Jaccard
    /// similarity to its first member is at least the threshold).
    pub fn with_threshold(threshold: f64) -> Result<Self> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(SpgError::invalid(
                "threshold",
                format!("the Jaccard threshold must lie in (0, 1], got {threshold}"),
            ));
        }
        Ok(Self {
            threshold,
            ..Self::default()
        })
    }

    /// Compare `input` (the response alone by default).
    pub fn with_input(mut self, input: ClusterInput) -> Self {
        self.input = input;
        self
    }

    /// The threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

impl SemanticClusterer for LexicalClusterer {
    fn name(&self) -> &str {
        "lexical-jaccard"
    }

    fn cluster(&mut self, prompt: &str, responses: &[String]) -> Result<Vec<usize>> {
        let texts: Vec<String> = responses
            .iter()
            .map(|r| self.input.text(prompt, r))
            .collect();
        cluster_by_representative(texts.len(), |r, i| {
            Ok(jaccard(&texts[r], &texts[i]) >= self.threshold)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// {i, loved, it} vs {i, hated, it}: 2 shared of 4 distinct → 0.5. {a, b} vs {c}: 0.
    /// Case and punctuation are normalised away: 1.
    #[test]
    fn jaccard_golden() {
        assert_eq!(jaccard("I loved it", "i HATED it!"), 0.5);
        assert_eq!(jaccard("a b", "c"), 0.0);
        assert_eq!(jaccard(" Good, film.", "good film"), 1.0);
        assert_eq!(jaccard("", " ?! "), 1.0);
        assert_eq!(jaccard("word", ""), 0.0);
    }

    /// τ = 0.5. 0 founds cluster 0; 1 shares {so, happy} of {so, happy, today, now} = 0.5 with
    /// 0 → 0; 2 has nothing in common → cluster 1; 3 = {so, happy} vs 0's {so, happy, today}:
    /// 2/3 → 0; 4 vs 0: {happy}/{so, happy, today, sad, not} = 0.2, vs 2 ({traffic, is, bad}): 0
    /// → cluster 2.
    #[test]
    fn leader_clustering_at_the_threshold() {
        let r: Vec<String> = [
            " so happy today",
            " so happy now",
            " traffic is bad",
            " So happy!",
            " not happy, sad",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut c = LexicalClusterer::default();
        assert_eq!(c.cluster("p", &r).unwrap(), vec![0, 0, 1, 0, 2]);
        let mut strict = LexicalClusterer::with_threshold(1.0).unwrap();
        assert_eq!(strict.cluster("p", &r).unwrap(), vec![0, 1, 2, 3, 4]);
        assert!(LexicalClusterer::with_threshold(0.0).is_err());
        assert!(LexicalClusterer::with_threshold(f64::NAN).is_err());
    }
}
