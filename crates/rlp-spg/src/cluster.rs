//! [`SemanticClusterer`]: the seam between RLP-SPG's pair rule and whatever decides that two
//! policy responses "mean the same" (Lang et al., NAACL 2024, §3.3: responses are grouped into
//! semantic clusters and the largest cluster's share is the policy's confidence).
//!
//! Three clusterers implement it: [`crate::NormalizedTextClusterer`] (equal normal forms, for
//! tiny tasks), [`crate::EmbeddingClusterer`] (cosine of sentence embeddings) and
//! [`crate::EntailmentClusterer`] (bidirectional entailment, the paper's choice). The last two
//! share [`cluster_by_representative`], Kuhn et al.'s (ICLR 2023) greedy procedure.

use std::collections::HashMap;

use crate::error::Result;

/// Groups the responses to one prompt into semantic-equivalence clusters.
pub trait SemanticClusterer {
    /// A short name for logs, reports and errors.
    fn name(&self) -> &str;

    /// One cluster id per response: equal ids mean "same meaning". Ids are numbered `0..` in
    /// order of first appearance (the first response is in cluster 0, the first response not in
    /// cluster 0 is in cluster 1, …); [`canonical_ids`] renumbers any labelling that way.
    fn cluster(&mut self, prompt: &str, responses: &[String]) -> Result<Vec<usize>>;
}

/// What a model-based clusterer compares: the response alone, or the prompt followed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterInput {
    /// The response text only.
    Response,
    /// `prompt + response`, concatenated as the reward models read them (the project's
    /// continuations start with their own separating space).
    PromptAndResponse,
}

impl ClusterInput {
    /// The text compared for `response` to `prompt`.
    pub fn text(self, prompt: &str, response: &str) -> String {
        match self {
            Self::Response => response.to_string(),
            Self::PromptAndResponse => format!("{prompt}{response}"),
        }
    }
}

/// Renumbers arbitrary cluster labels `0..` in order of first appearance, keeping which items
/// share a cluster: `[7, 3, 7, 9]` → `[0, 1, 0, 2]`.
pub fn canonical_ids(ids: &[usize]) -> Vec<usize> {
    let mut seen: HashMap<usize, usize> = HashMap::new();
    ids.iter()
        .map(|&id| {
            let next = seen.len();
            *seen.entry(id).or_insert(next)
        })
        .collect()
}

/// Canonical cluster ids ([`canonical_ids`]) by a key: items with equal `Some` keys share a
/// cluster, and an item whose key is `None` (nothing definite to compare) is a cluster of its
/// own. What the answer and normalised-text clusterers share.
pub fn cluster_by_key<K: std::hash::Hash + Eq>(
    items: &[String],
    key: impl Fn(&str) -> Option<K>,
) -> Vec<usize> {
    let mut ids: HashMap<K, usize> = HashMap::new();
    let mut next = 0;
    items
        .iter()
        .map(|item| {
            let id = match key(item) {
                Some(k) => *ids.entry(k).or_insert(next),
                None => next,
            };
            if id == next {
                next += 1;
            }
            id
        })
        .collect()
}

/// Sizes of the clusters of canonical ids ([`canonical_ids`]): `sizes[c]` = members of `c`.
pub fn cluster_sizes(ids: &[usize]) -> Vec<usize> {
    let ids = canonical_ids(ids);
    let mut sizes = vec![0; ids.iter().max().map_or(0, |m| m + 1)];
    for id in ids {
        sizes[id] += 1;
    }
    sizes
}

/// The largest cluster as `(label, size)`, the label as it appears in `ids`; on a tie the one
/// that appears first (sampling order is exchangeable, so this is a seeded random choice among
/// the tied clusters). `None` for no items.
pub fn largest_cluster(ids: &[usize]) -> Option<(usize, usize)> {
    let canon = canonical_ids(ids);
    let sizes = cluster_sizes(ids);
    // max_by_key keeps the last maximum; scan in reverse so the first appearance wins.
    let (best, &size) = sizes.iter().enumerate().rev().max_by_key(|&(_, s)| *s)?;
    let first = canon.iter().position(|&c| c == best)?;
    Some((ids[first], size))
}

/// The greedy procedure of Kuhn, Gal and Farquhar (ICLR 2023, "Semantic Uncertainty",
/// Algorithm 1): items are visited in order; each joins the first existing cluster whose
/// representative (its first member) it is `same` as, else founds a new cluster. `same(r, i)`
/// is asked with `r < i`, the representative's index first. Ids come out canonical.
pub fn cluster_by_representative(
    n: usize,
    mut same: impl FnMut(usize, usize) -> Result<bool>,
) -> Result<Vec<usize>> {
    let mut representatives: Vec<usize> = Vec::new();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let mut found = None;
        for (c, &r) in representatives.iter().enumerate() {
            if same(r, i)? {
                found = Some(c);
                break;
            }
        }
        ids.push(found.unwrap_or_else(|| {
            representatives.push(i);
            representatives.len() - 1
        }));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_numbering_and_sizes() {
        assert_eq!(canonical_ids(&[7, 3, 7, 9]), vec![0, 1, 0, 2]);
        assert_eq!(canonical_ids(&[]), Vec::<usize>::new());
        assert_eq!(cluster_sizes(&[7, 3, 7, 9]), vec![2, 1, 1]);
        assert_eq!(cluster_sizes(&[]), Vec::<usize>::new());
    }

    /// `[5, 2, 2, 5, 1]`: clusters 5 and 2 both have two members; 5 appears first.
    #[test]
    fn largest_cluster_breaks_ties_by_first_appearance() {
        assert_eq!(largest_cluster(&[5, 2, 2, 5, 1]), Some((5, 2)));
        assert_eq!(largest_cluster(&[1, 2, 2]), Some((2, 2)));
        assert_eq!(largest_cluster(&[4]), Some((4, 1)));
        assert_eq!(largest_cluster(&[]), None);
    }

    /// Items equal mod 3 are "the same": 0,1,2 found clusters, 3 joins 0, 4 joins 1, 5 joins 2;
    /// every comparison has the representative first.
    #[test]
    fn representative_procedure_compares_with_first_members() {
        let mut asked = Vec::new();
        let ids = cluster_by_representative(6, |r, i| {
            asked.push((r, i));
            Ok(r % 3 == i % 3)
        })
        .unwrap();
        assert_eq!(ids, vec![0, 1, 2, 0, 1, 2]);
        assert!(asked.iter().all(|&(r, i)| r < i && r < 3));
        // Item 5 is compared with 0 and 1 before it matches 2, then the search stops.
        assert_eq!(
            asked.iter().filter(|&&(_, i)| i == 5).count(),
            3,
            "{asked:?}"
        );
    }
}
