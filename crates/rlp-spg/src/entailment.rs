//! [`EntailmentClusterer`]: semantic equivalence as bidirectional entailment, the clustering
//! RLP-SPG uses (Lang et al., NAACL 2024, §3.3, after Kuhn, Gal and Farquhar, "Semantic
//! Uncertainty", ICLR 2023): two responses mean the same when each entails the other. Any
//! [`EntailmentScorer`] (an NLI model, a rule, a test fake) can decide entailment.

use crate::cluster::{ClusterInput, SemanticClusterer, cluster_by_representative};
use crate::error::Result;

/// Decides whether one text entails another (an NLI model's "entailment" verdict).
pub trait EntailmentScorer {
    /// Whether `premise` entails `hypothesis`. Need not be symmetric.
    fn entails(&mut self, premise: &str, hypothesis: &str) -> Result<bool>;
}

/// Kuhn et al.'s (ICLR 2023, Algorithm 1) clustering over an [`EntailmentScorer`]: responses are
/// visited in order and each joins the first cluster whose representative (first member) it
/// entails **and** is entailed by; otherwise it founds a new cluster. One-directional entailment
/// ("a film" ⊨ "a thing" but not back) does not merge. Identical texts join without asking the
/// scorer; otherwise a response costs at most two scorer calls per existing cluster.
///
/// The compared texts default to [`ClusterInput::PromptAndResponse`]: Kuhn et al.'s reference
/// code gives the NLI model `question + ' ' + answer` on both sides, so that short answers are
/// judged in the context of what they answer.
pub struct EntailmentClusterer<S> {
    scorer: S,
    input: ClusterInput,
    name: String,
}

impl<S: EntailmentScorer> EntailmentClusterer<S> {
    /// A clusterer over `scorer`, comparing prompt + response.
    pub fn new(scorer: S) -> Self {
        Self {
            scorer,
            input: ClusterInput::PromptAndResponse,
            name: "bidirectional-entailment".into(),
        }
    }

    /// Compares `input` instead.
    pub fn with_input(mut self, input: ClusterInput) -> Self {
        self.input = input;
        self
    }

    /// Renames the clusterer (for reports).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// What is compared.
    pub fn input(&self) -> ClusterInput {
        self.input
    }

    /// The scorer.
    pub fn scorer(&self) -> &S {
        &self.scorer
    }

    /// Gives the scorer back.
    pub fn into_scorer(self) -> S {
        self.scorer
    }
}

impl<S: EntailmentScorer> SemanticClusterer for EntailmentClusterer<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn cluster(&mut self, prompt: &str, responses: &[String]) -> Result<Vec<usize>> {
        let texts: Vec<String> = responses
            .iter()
            .map(|r| self.input.text(prompt, r))
            .collect();
        let scorer = &mut self.scorer;
        cluster_by_representative(texts.len(), |rep, i| {
            let (a, b) = (&texts[rep], &texts[i]);
            Ok(a == b || (scorer.entails(a, b)? && scorer.entails(b, a)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SpgError;

    /// Entailment iff the hypothesis starts with the premise's first word, except that "all"
    /// entails "some" and not back (a one-directional case); logs every call.
    #[derive(Default)]
    struct FirstWord {
        calls: Vec<(String, String)>,
    }

    impl EntailmentScorer for FirstWord {
        fn entails(&mut self, premise: &str, hypothesis: &str) -> Result<bool> {
            self.calls.push((premise.into(), hypothesis.into()));
            let first = |s: &str| s.split_whitespace().next().unwrap_or("").to_string();
            let (p, h) = (first(premise), first(hypothesis));
            Ok(p == h || (p == "all" && h == "some"))
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// "yes a"/"yes b" share a first word (cluster 0); "no c" founds 1; "all d" founds 2;
    /// "some e" is entailed by "all d" but does not entail it, so it founds 3; "no f" joins 1.
    #[test]
    fn bidirectional_entailment_merges_and_one_direction_does_not() {
        let mut c =
            EntailmentClusterer::new(FirstWord::default()).with_input(ClusterInput::Response);
        let r = strings(&["yes a", "yes b", "no c", "all d", "some e", "no f"]);
        assert_eq!(c.cluster("q", &r).unwrap(), vec![0, 0, 1, 2, 3, 1]);
        let calls = &c.scorer().calls;
        assert!(calls.contains(&("all d".into(), "some e".into())));
        assert!(calls.contains(&("some e".into(), "all d".into())));
        assert_eq!(c.name(), "bidirectional-entailment");
    }

    /// Identical texts join without a scorer call; by default the scorer sees prompt + response.
    #[test]
    fn identical_texts_are_free_and_the_prompt_is_prepended() {
        let mut c = EntailmentClusterer::new(FirstWord::default());
        assert_eq!(c.input(), ClusterInput::PromptAndResponse);
        let r = strings(&[" x", " x", " y"]);
        // With the prompt first, every text starts with "Q:", so all three merge.
        assert_eq!(c.cluster("Q:", &r).unwrap(), vec![0, 0, 0]);
        assert_eq!(
            c.scorer().calls,
            vec![
                ("Q: x".to_string(), "Q: y".to_string()),
                ("Q: y".to_string(), "Q: x".to_string())
            ]
        );
    }

    struct Failing;
    impl EntailmentScorer for Failing {
        fn entails(&mut self, _: &str, _: &str) -> Result<bool> {
            Err(SpgError::clusterer("nli", "out of memory"))
        }
    }

    #[test]
    fn scorer_errors_propagate() {
        let mut c = EntailmentClusterer::new(Failing);
        let e = c.cluster("p", &strings(&["a", "b"])).unwrap_err();
        assert!(e.to_string().contains("out of memory"), "{e}");
        // One response needs no comparison.
        assert_eq!(c.cluster("p", &strings(&["a"])).unwrap(), vec![0]);
    }
}
