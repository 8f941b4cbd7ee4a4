//! [`EmbeddingClusterer`]: semantic equivalence as cosine similarity of sentence embeddings,
//! a cheaper stand-in for RLP-SPG's NLI clustering (Lang et al., NAACL 2024, §3.3) that runs on
//! the project's own all-MiniLM-L6-v2 ([`SentenceEncoder`]).
//!
//! # The rule
//!
//! Kuhn et al.'s (ICLR 2023) representative procedure with "cosine ≥ τ" in place of
//! "bidirectional entailment" (cosine is symmetric, so one test covers both directions):
//! responses are visited in sampling order and each joins the first cluster whose *leader* (first
//! member) it has cosine ≥ τ with, else leads a new cluster. It is the same procedure as
//! [`crate::EntailmentClusterer`], so the two clusterers differ only in the equivalence test;
//! it costs `n·k` dot products for `k` clusters. Leader clustering is not transitive-closed
//! (two members may be less similar than τ to each other); with n = 10 samples and a τ well above
//! the similarity of different meanings this is rare, and it never chains clusters together the
//! way single linkage would.
//!
//! # The threshold
//!
//! [`DEFAULT_THRESHOLD`] τ = 0.75 was chosen by measuring all-MiniLM-L6-v2 (rlp's encoder) on
//! hand-written pairs and real tweets (`tests/minilm.rs`, `measure_threshold`, run with
//! `--ignored --nocapture`):
//!
//! | set | pairs | min | p10 | median | p90 | max |
//! |---|---|---|---|---|---|---|
//! | paraphrases (hand-written, MRPC-like) | 16 | 0.692 | 0.736 | 0.886 | 0.953 | 0.970 |
//! | same topic, different meaning (opposites, other facts) | 14 | 0.345 | 0.419 | 0.632 | 0.767 | 0.833 |
//! | unrelated real tweets (`tweet-sentiment` drift corpus) | 200 | −0.092 | 0.026 | 0.176 | 0.428 | 0.699 |
//! | two tweets' endings, alone | 189 | −0.065 | 0.004 | 0.123 | 0.289 | 0.733 |
//! | the same endings behind one shared 4-word prefix | 189 | −0.012 | 0.130 | 0.380 | 0.621 | 0.884 |
//!
//! Share of pairs merged (cosine ≥ τ):
//!
//! | τ | paraphrases | different meaning | unrelated tweets | endings alone | endings with prefix |
//! |---|---|---|---|---|---|
//! | 0.65 | 1.00 | 0.43 | 0.010 | 0.005 | 0.090 |
//! | 0.70 | 0.94 | 0.29 | 0 | 0.005 | 0.053 |
//! | **0.75** | **0.81** | **0.14** | **0** | **0** | **0.042** |
//! | 0.80 | 0.62 | 0.07 | 0 | 0 | 0.011 |
//! | 0.85 | 0.56 | 0 | 0 | 0 | 0.005 |
//!
//! 0.75 sits at the crossing of the two errors (19% of paraphrases split, 14% of
//! different-meaning pairs merged; the equal-error point is about 0.76) and merges no unrelated
//! text. Both errors cost RLP-SPG: a split paraphrase can become the loser of its own meaning, a
//! merged opposite overstates the confidence. Opposite sentiments are MiniLM's weak spot
//! ("I loved this movie" / "I hated this movie": 0.664; "Great game, what a win!" / "Terrible
//! game, what a loss.": 0.767), so on sentiment tasks a lower τ is unsafe.
//! On 30 `tweet-sentiment` prompts with 10 samples each from the task's (weak) base policy at
//! temperature 1.0, responses rarely agree: mean confidence 0.13 at τ = 0.7 and 0.12 at 0.8,
//! with 1 and 0 prompts reaching γ = 0.5.
//!
//! # What is embedded
//!
//! The response alone by default ([`ClusterInput::Response`]). Mean pooling averages over every
//! token, so a shared prompt pulls all of a prompt's responses together: in the table above,
//! unrelated tweet endings go from median cosine 0.123 alone to 0.380 behind a common prefix,
//! and 4.2% of them merge at τ = 0.75 instead of none; on the policy samples the prefix triples
//! the apparent confidence (0.32 against 0.13 at τ = 0.7). That would merge responses of
//! different meaning and inflate the confidence RLP-SPG filters on.
//! [`ClusterInput::PromptAndResponse`] is there for very short answers that only mean something
//! next to their question.

use rlp_models::bert::SentenceEncoder;

use crate::cluster::{ClusterInput, SemanticClusterer, cluster_by_representative};
use crate::error::{Result, SpgError};

/// The default cosine threshold τ (see the module docs for the measurements behind it).
pub const DEFAULT_THRESHOLD: f32 = 0.75;

/// Turns texts into fixed-width vectors (need not be unit length: the clusterer normalises).
pub trait Embedder {
    /// One vector per text, in order, all of the same width.
    fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// all-MiniLM-L6-v2 and other sentence-transformers BERT checkpoints: L2-normalised mean pooling.
impl Embedder for SentenceEncoder {
    fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(SentenceEncoder::embed(self, texts)?)
    }
}

/// A shared encoder embeds too (its forward pass needs no `&mut`).
impl Embedder for &SentenceEncoder {
    fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(SentenceEncoder::embed(*self, texts)?)
    }
}

/// Leader clustering of sentence embeddings at a cosine threshold (module docs).
pub struct EmbeddingClusterer<E> {
    embedder: E,
    threshold: f32,
    input: ClusterInput,
    name: String,
}

impl<E: Embedder> EmbeddingClusterer<E> {
    /// A clusterer over `embedder` with τ = [`DEFAULT_THRESHOLD`], embedding responses alone.
    pub fn new(embedder: E) -> Self {
        Self {
            embedder,
            threshold: DEFAULT_THRESHOLD,
            input: ClusterInput::Response,
            name: "embedding".into(),
        }
    }

    /// Sets τ, which must be a number in `[-1, 1]`.
    pub fn with_threshold(mut self, threshold: f32) -> Result<Self> {
        if !(-1.0..=1.0).contains(&threshold) {
            return Err(SpgError::invalid(
                "threshold",
                format!("{threshold} is not a cosine in [-1, 1]"),
            ));
        }
        self.threshold = threshold;
        Ok(self)
    }

    /// Embeds `input` instead.
    pub fn with_input(mut self, input: ClusterInput) -> Self {
        self.input = input;
        self
    }

    /// Renames the clusterer (for reports).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// τ.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// What is embedded.
    pub fn input(&self) -> ClusterInput {
        self.input
    }

    /// The embedder.
    pub fn embedder(&self) -> &E {
        &self.embedder
    }

    /// Unit-length embeddings of `texts`, checked: one per text, one width, finite. A zero
    /// vector stays zero (cosine 0 with everything).
    fn unit_embeddings(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let vecs = self.embedder.embed(texts)?;
        if vecs.len() != texts.len() {
            return Err(SpgError::clusterer(
                &self.name,
                format!("{} embeddings for {} texts", vecs.len(), texts.len()),
            ));
        }
        let width = vecs.first().map_or(0, Vec::len);
        for (i, v) in vecs.iter().enumerate() {
            if v.len() != width || width == 0 {
                return Err(SpgError::clusterer(
                    &self.name,
                    format!("embedding {i} has width {}, the first {width}", v.len()),
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(SpgError::clusterer(
                    &self.name,
                    format!("embedding {i} is not finite"),
                ));
            }
        }
        Ok(vecs.into_iter().map(unit).collect())
    }
}

/// `v / |v|`, or `v` itself when it is zero.
fn unit(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.into_iter().map(|x| x / norm).collect()
    } else {
        v
    }
}

/// `a · b`.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl<E: Embedder> SemanticClusterer for EmbeddingClusterer<E> {
    fn name(&self) -> &str {
        &self.name
    }

    fn cluster(&mut self, prompt: &str, responses: &[String]) -> Result<Vec<usize>> {
        if responses.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<String> = responses
            .iter()
            .map(|r| self.input.text(prompt, r))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let e = self.unit_embeddings(&refs)?;
        let tau = self.threshold;
        cluster_by_representative(e.len(), |leader, i| {
            Ok(texts[leader] == texts[i] || dot(&e[leader], &e[i]) >= tau)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Looks texts up in a table of handmade vectors; records each batch it is asked for.
    struct Table {
        vectors: HashMap<String, Vec<f32>>,
        batches: Vec<Vec<String>>,
    }

    impl Table {
        fn new(entries: &[(&str, Vec<f32>)]) -> Self {
            Self {
                vectors: entries
                    .iter()
                    .map(|(t, v)| (t.to_string(), v.clone()))
                    .collect(),
                batches: Vec::new(),
            }
        }
    }

    impl Embedder for Table {
        fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.batches
                .push(texts.iter().map(|t| t.to_string()).collect());
            texts
                .iter()
                .map(|t| {
                    self.vectors
                        .get(*t)
                        .cloned()
                        .ok_or_else(|| SpgError::clusterer("table", format!("no vector for {t}")))
                })
                .collect()
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Unit vectors at angles θ in the plane: cos between them is cos(Δθ).
    fn at(deg: f32) -> Vec<f32> {
        let r = deg.to_radians();
        vec![r.cos(), r.sin()]
    }

    /// τ = 0.75 ≈ cos 41.4°. a (0°) leads cluster 0; b (30°, cos 0.866 with a) joins it; c (60°,
    /// cos 0.5 with a) leads cluster 1; d (50°, cos 0.643 with a, cos 0.985 with c) joins c;
    /// e (180°) leads cluster 2; f = 3·a is normalised first, cos 1 with a → cluster 0.
    #[test]
    fn leader_clustering_on_handmade_vectors() {
        let scaled: Vec<f32> = at(0.0).iter().map(|x| 3.0 * x).collect();
        let table = Table::new(&[
            ("a", at(0.0)),
            ("b", at(30.0)),
            ("c", at(60.0)),
            ("d", at(50.0)),
            ("e", at(180.0)),
            ("f", scaled),
        ]);
        let mut c = EmbeddingClusterer::new(table);
        assert_eq!(c.threshold(), DEFAULT_THRESHOLD);
        let r = strings(&["a", "b", "c", "d", "e", "f"]);
        assert_eq!(c.cluster("p", &r).unwrap(), vec![0, 0, 1, 1, 2, 0]);
        // One embedding call per prompt, responses alone by default.
        assert_eq!(c.embedder().batches, vec![r.clone()]);
    }

    /// The leader, not the nearest member, decides: with τ = 0.9 (≈ 25.8°), b (20°) joins a
    /// (0°); g (40°) is 20° from b but 40° from the leader a, so it leads a new cluster.
    #[test]
    fn members_are_compared_with_the_leader_only() {
        let table = Table::new(&[("a", at(0.0)), ("b", at(20.0)), ("g", at(40.0))]);
        let mut c = EmbeddingClusterer::new(table).with_threshold(0.9).unwrap();
        assert_eq!(
            c.cluster("p", &strings(&["a", "b", "g"])).unwrap(),
            vec![0, 0, 1]
        );
    }

    #[test]
    fn prompt_and_response_mode_embeds_the_concatenation() {
        let table = Table::new(&[("Q: a", at(0.0)), ("Q: b", at(90.0))]);
        let mut c = EmbeddingClusterer::new(table).with_input(ClusterInput::PromptAndResponse);
        assert_eq!(
            c.cluster("Q:", &strings(&[" a", " b"])).unwrap(),
            vec![0, 1]
        );
        assert_eq!(c.embedder().batches, vec![strings(&["Q: a", "Q: b"])]);
    }

    #[test]
    fn bad_thresholds_and_embeddings_are_errors() {
        let t = || {
            Table::new(&[
                ("a", vec![1.0, 0.0]),
                ("w", vec![1.0]),
                ("z", vec![0.0, 0.0]),
            ])
        };
        for bad in [1.5, -1.01, f32::NAN] {
            let e = EmbeddingClusterer::new(t())
                .with_threshold(bad)
                .err()
                .unwrap();
            assert!(e.to_string().contains("`threshold`"), "{e}");
        }
        let mut c = EmbeddingClusterer::new(t());
        let e = c
            .cluster("p", &strings(&["a", "w"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("embedding") && e.contains("width 1"), "{e}");
        assert!(c.cluster("p", &strings(&["a", "missing"])).is_err());
        // A zero vector merges with nothing (cos 0 < τ), but identical texts still merge.
        assert_eq!(
            c.cluster("p", &strings(&["a", "z", "z"])).unwrap(),
            vec![0, 1, 1]
        );
        assert_eq!(c.cluster("p", &[]).unwrap(), Vec::<usize>::new());
    }

    /// An embedder that returns the wrong number of vectors is caught.
    #[test]
    fn embedding_count_is_checked() {
        struct One;
        impl Embedder for One {
            fn embed(&mut self, _: &[&str]) -> Result<Vec<Vec<f32>>> {
                Ok(vec![vec![1.0]])
            }
        }
        let e = EmbeddingClusterer::new(One)
            .cluster("p", &strings(&["a", "b"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 embeddings for 2 texts"), "{e}");
    }
}
