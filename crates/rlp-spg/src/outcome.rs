//! [`SpgOutcome`]: what RLP-SPG's pair rule decided for one prompt.

use rlp_core::PreferencePair;

/// What the rule decided for one prompt; every variant carries the prompt's confidence
/// `|largest cluster| / n`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum SpgOutcome {
    /// Kept: a synthetic preference `y_w ≻ y_l`.
    Pair {
        /// The pair (no margin).
        pair: PreferencePair,
        /// The prompt's confidence.
        confidence: f64,
        /// Index of `y_w` among the prompt's responses.
        winner: usize,
        /// Index of `y_l`.
        loser: usize,
    },
    /// Skipped: confidence below γ.
    LowConfidence {
        /// The prompt's confidence.
        confidence: f64,
    },
    /// Skipped: no usable response outside the largest cluster.
    NoOtherCluster {
        /// The prompt's confidence.
        confidence: f64,
    },
    /// Skipped: the largest cluster holds only empty responses.
    EmptyWinner {
        /// The prompt's confidence.
        confidence: f64,
    },
}

impl SpgOutcome {
    /// The prompt's confidence `|largest cluster| / n`.
    pub fn confidence(&self) -> f64 {
        match self {
            Self::Pair { confidence, .. }
            | Self::LowConfidence { confidence }
            | Self::NoOtherCluster { confidence }
            | Self::EmptyWinner { confidence } => *confidence,
        }
    }

    /// The pair, when the prompt was kept.
    pub fn pair(&self) -> Option<&PreferencePair> {
        match self {
            Self::Pair { pair, .. } => Some(pair),
            _ => None,
        }
    }
}
