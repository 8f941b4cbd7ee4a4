//! [`AnswerClusterer`]: semantic equivalence as equality of final answers, for convergent-answer
//! tasks such as `arith`. Two worked solutions that reach the same number by different words
//! mean the same thing for the task, which is exactly the equivalence RLP-SPG's confidence
//! needs (Lang et al., NAACL 2024, §3.3: "semantically equivalent answers").
//!
//! The answer is read by [`rlp_core::answer::final_answer`] (the first `The answer is N.` line).
//! A response with no readable answer means nothing definite, so it is a cluster of its own.

use rlp_core::answer::final_answer;

use crate::cluster::{SemanticClusterer, cluster_by_key};
use crate::error::Result;

/// Responses with the same final answer share a cluster; a response without one is a
/// singleton.
#[derive(Debug, Clone, Default)]
pub struct AnswerClusterer;

impl AnswerClusterer {
    /// The clusterer.
    pub fn new() -> Self {
        Self
    }
}

impl SemanticClusterer for AnswerClusterer {
    fn name(&self) -> &str {
        "final-answer"
    }

    fn cluster(&mut self, _prompt: &str, responses: &[String]) -> Result<Vec<usize>> {
        Ok(cluster_by_key(responses, final_answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::canonical_ids;

    /// Handmade: 0 and 2 answer 9 by different steps (cluster 0); 1 answers 8 (1); 3 has no
    /// answer line (singleton 2); 4 answers 8 after a wrong first line that does not parse
    /// (cluster 1); 5 and 6 are both unparsable, and stay apart (3 and 4); 7 answers 9 (0).
    #[test]
    fn equal_answers_share_a_cluster_and_unparsable_ones_stand_alone() {
        let r: Vec<String> = [
            " 7 + 5 = 12. 12 - 3 = 9.\nThe answer is 9.",
            " 7 + 5 = 12. 12 - 4 = 8.\nThe answer is 8.",
            " 12 - 3 = 9.\nThe answer is 9.",
            " 7 + 5 = 12.",
            " The answer is 8,5.\nThe answer is 8.",
            "",
            "The answer is 9",
            "The answer is 09.",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut c = AnswerClusterer::new();
        let ids = c.cluster("p", &r).unwrap();
        assert_eq!(ids, vec![0, 1, 0, 2, 1, 3, 4, 0]);
        assert_eq!(canonical_ids(&ids), ids, "ids come out canonical");
        assert_eq!(c.cluster("p", &[]).unwrap(), Vec::<usize>::new());
        assert_eq!(c.name(), "final-answer");
    }
}
