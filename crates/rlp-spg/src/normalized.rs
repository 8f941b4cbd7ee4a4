//! [`NormalizedTextClusterer`]: semantic equivalence as equality of normal forms, for tasks
//! whose responses are short word strings (the `synthetic` task's 40-word world), where a
//! sentence encoder or an NLI model would be out of place. A cheap stand-in for the bidirectional
//! entailment RLP-SPG clusters with (Lang et al., NAACL 2024, §3.3).

use crate::cluster::{SemanticClusterer, cluster_by_key};
use crate::error::Result;

/// The normal form of a text: lowercased, every character that is neither alphanumeric nor
/// whitespace replaced by a space (so `"good,bad"` and `"good bad"` agree), runs of whitespace
/// collapsed to one space, ends trimmed. `" The film -- GOOD!"` → `"the film good"`.
pub fn normalize(text: &str) -> String {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Responses with equal [`normalize`]d forms share a cluster. Order of words matters
/// (`"good film"` ≠ `"film good"`); responses that normalise to nothing (empty or punctuation
/// only) form one cluster of their own.
#[derive(Debug, Clone, Default)]
pub struct NormalizedTextClusterer;

impl NormalizedTextClusterer {
    /// The clusterer.
    pub fn new() -> Self {
        Self
    }
}

impl SemanticClusterer for NormalizedTextClusterer {
    fn name(&self) -> &str {
        "normalized-text"
    }

    fn cluster(&mut self, _prompt: &str, responses: &[String]) -> Result<Vec<usize>> {
        Ok(cluster_by_key(responses, |r| Some(normalize(r))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        assert_eq!(normalize(" The film -- GOOD!"), "the film good");
        assert_eq!(normalize("good,bad"), normalize("good bad"));
        assert_eq!(normalize("Ça\tva\n bien."), "ça va bien");
        assert_eq!(normalize(" ?! "), "");
        assert_eq!(normalize(""), "");
    }

    /// Handmade: 0, 1 and 3 differ only in case, punctuation and spacing (cluster 0); 2 has the
    /// same words in another order (cluster 1); 4 and 5 normalise to "" (cluster 2); 6 is new (3).
    #[test]
    fn equal_normal_forms_share_a_cluster() {
        let r: Vec<String> = [
            " good film",
            "Good film!",
            " film good",
            "  GOOD   film. ",
            "",
            " ... ",
            " bad film",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut c = NormalizedTextClusterer::new();
        assert_eq!(c.cluster("p", &r).unwrap(), vec![0, 0, 1, 0, 2, 2, 3]);
        assert_eq!(c.cluster("p", &[]).unwrap(), Vec::<usize>::new());
        assert_eq!(c.name(), "normalized-text");
    }
}
