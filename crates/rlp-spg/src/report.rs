//! [`SpgReport`]: how many prompts RLP-SPG kept and why it left out the rest.

use crate::outcome::SpgOutcome;

/// The tally of one [`crate::build_pairs`] run. Every prompt is counted exactly once in `kept`
/// or one of the `skipped_*` fields, so they add up to `prompts`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpgReport {
    /// Prompts seen.
    pub prompts: usize,
    /// Prompts that gave a pair.
    pub kept: usize,
    /// Skipped: confidence below γ.
    pub skipped_low_confidence: usize,
    /// Skipped: confident, but no usable response outside the largest cluster (every response
    /// means the same, or the others are empty).
    pub skipped_single_cluster: usize,
    /// Skipped: confident, but the largest cluster holds only empty responses.
    pub skipped_empty_winner: usize,
    /// Responses (over all prompts) that are empty or only whitespace; never a winner or a
    /// loser.
    pub empty_responses: usize,
    /// `largest_cluster_sizes[k]` = prompts whose largest cluster has `k` members (`0..=n`).
    pub largest_cluster_sizes: Vec<usize>,
    /// Mean confidence `|largest cluster| / n` over all prompts (0 when there are none).
    pub mean_confidence: f64,
    /// Mean number of clusters per prompt (0 when there are none).
    pub mean_clusters: f64,
}

impl SpgReport {
    /// The tally of per-prompt rows `(outcome, largest-cluster size, clusters, empty
    /// responses)` for `n` responses per prompt.
    pub(crate) fn tally<'a>(
        n: usize,
        rows: impl IntoIterator<Item = (&'a SpgOutcome, usize, usize, usize)>,
    ) -> Self {
        let mut r = Self {
            largest_cluster_sizes: vec![0; n + 1],
            ..Self::default()
        };
        let (mut confidence, mut clusters) = (0.0, 0usize);
        for (outcome, largest, k, empty) in rows {
            r.prompts += 1;
            match outcome {
                SpgOutcome::Pair { .. } => r.kept += 1,
                SpgOutcome::LowConfidence { .. } => r.skipped_low_confidence += 1,
                SpgOutcome::NoOtherCluster { .. } => r.skipped_single_cluster += 1,
                SpgOutcome::EmptyWinner { .. } => r.skipped_empty_winner += 1,
            }
            r.empty_responses += empty;
            if r.largest_cluster_sizes.len() <= largest {
                r.largest_cluster_sizes.resize(largest + 1, 0);
            }
            r.largest_cluster_sizes[largest] += 1;
            confidence += outcome.confidence();
            clusters += k;
        }
        if r.prompts > 0 {
            r.mean_confidence = confidence / r.prompts as f64;
            r.mean_clusters = clusters as f64 / r.prompts as f64;
        }
        r
    }

    /// Prompts left out, for any reason.
    pub fn skipped(&self) -> usize {
        self.skipped_low_confidence + self.skipped_single_cluster + self.skipped_empty_winner
    }
}

impl std::fmt::Display for SpgReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "kept {} of {} prompts (skipped: {} low confidence, {} single cluster, {} empty \
             winner); {} empty responses; mean confidence {:.3}, mean clusters {:.2}; \
             largest-cluster sizes {:?}",
            self.kept,
            self.prompts,
            self.skipped_low_confidence,
            self.skipped_single_cluster,
            self.skipped_empty_winner,
            self.empty_responses,
            self.mean_confidence,
            self.mean_clusters,
            self.largest_cluster_sizes
        )
    }
}
