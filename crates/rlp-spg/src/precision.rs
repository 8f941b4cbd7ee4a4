//! [`PairPrecision`]: how often RLP-SPG's synthetic pairs are right by a gold scorer — the
//! fraction of pairs `(y_w, y_l)` of `D̂` with `gold(y_w) > gold(y_l)`. On a task with a
//! right/wrong gold (such as `arith`) that is the fraction with `y_w` correct and `y_l` wrong.
//! Ties (both right, or both wrong) and reversed pairs are counted apart: a tie teaches the
//! reward model a preference the gold scorer does not hold, a reversed pair the opposite one.

use rlp_core::{PreferencePair, RewardFn};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SpgError};

/// Gold's verdict on a set of synthetic pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairPrecision {
    /// Pairs judged.
    pub pairs: usize,
    /// Pairs with `gold(y_w) > gold(y_l)`.
    pub ordered: usize,
    /// Pairs with `gold(y_w) = gold(y_l)`.
    pub ties: usize,
    /// Pairs with `gold(y_w) < gold(y_l)`.
    pub reversed: usize,
    /// `ordered / pairs` (0 when there are no pairs).
    pub precision: f64,
}

impl PairPrecision {
    /// Scores every pair's `chosen` and `rejected` with `gold` (one call for all of them).
    pub fn measure(gold: &dyn RewardFn, pairs: &[PreferencePair]) -> Result<Self> {
        let prompts: Vec<String> = pairs
            .iter()
            .flat_map(|p| [p.prompt.clone(), p.prompt.clone()])
            .collect();
        let responses: Vec<String> = pairs
            .iter()
            .flat_map(|p| [p.chosen.clone(), p.rejected.clone()])
            .collect();
        let scorer = |message: String| SpgError::Scorer {
            name: gold.name(),
            message,
        };
        let scores = if pairs.is_empty() {
            Vec::new()
        } else {
            gold.score(&prompts, &responses)
                .map_err(|e| scorer(e.to_string()))?
        };
        if scores.len() != responses.len() {
            return Err(scorer(format!(
                "{} scores for {} responses",
                scores.len(),
                responses.len()
            )));
        }
        let (mut ordered, mut ties, mut reversed) = (0, 0, 0);
        for s in scores.chunks(2) {
            match s[0].partial_cmp(&s[1]) {
                Some(std::cmp::Ordering::Greater) => ordered += 1,
                Some(std::cmp::Ordering::Less) => reversed += 1,
                Some(std::cmp::Ordering::Equal) => ties += 1,
                None => return Err(scorer("a non-finite score".into())),
            }
        }
        Ok(Self {
            pairs: pairs.len(),
            ordered,
            ties,
            reversed,
            precision: if pairs.is_empty() {
                0.0
            } else {
                ordered as f64 / pairs.len() as f64
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::FnReward;

    fn pair(chosen: &str, rejected: &str) -> PreferencePair {
        PreferencePair {
            prompt: "p".into(),
            chosen: chosen.into(),
            rejected: rejected.into(),
            margin: None,
        }
    }

    /// Gold = the response's length: (abc ≻ a) ordered, (ab ≻ cd) a tie, (a ≻ abcd) reversed,
    /// (abcd ≻ ab) ordered → 2 ordered, 1 tie, 1 reversed, precision 2/4.
    #[test]
    fn golden_counts() {
        let gold = FnReward::new("len", |_p: &str, y: &str| y.len() as f32);
        let pairs = [
            pair("abc", "a"),
            pair("ab", "cd"),
            pair("a", "abcd"),
            pair("abcd", "ab"),
        ];
        let m = PairPrecision::measure(&gold, &pairs).unwrap();
        assert_eq!((m.pairs, m.ordered, m.ties, m.reversed), (4, 2, 1, 1));
        assert_eq!(m.precision, 0.5);
        let none = PairPrecision::measure(&gold, &[]).unwrap();
        assert_eq!((none.pairs, none.precision), (0, 0.0));
        let nan = FnReward::new("nan", |_p: &str, _y: &str| f32::NAN);
        let e = PairPrecision::measure(&nan, &pairs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nan") && e.contains("non-finite"), "{e}");
    }
}
