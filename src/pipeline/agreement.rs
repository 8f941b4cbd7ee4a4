//! The diagnostic RLP implies: does a reward model rank a policy's own samples the way the gold
//! scorer does? Pairwise agreement over the samples of each prompt, before (`r`) and after
//! (`r̂`) retraining.

use serde::{Deserialize, Serialize};

/// Agreement of a reward model with the gold scorer on pairs of samples of the same prompt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Pairs compared (pairs the gold scorer ties are left out).
    pub pairs: usize,
    /// Fraction of pairs ordered as the gold scorer orders them (a reward-model tie counts ½).
    pub rate: f64,
    /// Binomial standard error `sqrt(rate·(1 − rate)/pairs)` (pairs of one prompt share
    /// samples, so this understates the spread somewhat).
    pub se: f64,
}

/// Pairwise agreement of `scores` with `gold` over groups of `k` consecutive samples (the
/// samples of one prompt, prompt-major): every pair `i < j` inside a group with
/// `gold_i ≠ gold_j` counts 1 when `(s_i − s_j)(g_i − g_j) > 0`, ½ when `s_i = s_j`, else 0.
pub fn pairwise_agreement(scores: &[f64], gold: &[f64], k: usize) -> Agreement {
    let (mut pairs, mut agree) = (0usize, 0.0f64);
    if k >= 2 && scores.len() == gold.len() {
        for (s, g) in scores.chunks(k).zip(gold.chunks(k)) {
            for i in 0..s.len() {
                for j in i + 1..s.len() {
                    if g[i] == g[j] {
                        continue;
                    }
                    pairs += 1;
                    let ds = s[i] - s[j];
                    agree += if ds == 0.0 {
                        0.5
                    } else if ds * (g[i] - g[j]) > 0.0 {
                        1.0
                    } else {
                        0.0
                    };
                }
            }
        }
    }
    let rate = if pairs == 0 {
        0.0
    } else {
        agree / pairs as f64
    };
    let se = if pairs == 0 {
        0.0
    } else {
        (rate * (1.0 - rate) / pairs as f64).sqrt()
    };
    Agreement { pairs, rate, se }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two prompts, k = 3. Prompt 0: gold (1, 2, 3), scores (1, 3, 2): pairs (0,1) agree,
    /// (0,2) agree, (1,2) disagree → 2. Prompt 1: gold (5, 5, 0), scores (0, 1, 1): pair (0,1)
    /// is a gold tie (left out); (0,2): Δs = −1, Δg = 5 → 0; (1,2): Δs = 0 → ½. Total 2.5 over
    /// 5 pairs = 0.5, SE = sqrt(0.25/5).
    #[test]
    fn golden_handmade_groups() {
        let scores = [1.0, 3.0, 2.0, 0.0, 1.0, 1.0];
        let gold = [1.0, 2.0, 3.0, 5.0, 5.0, 0.0];
        let a = pairwise_agreement(&scores, &gold, 3);
        assert_eq!(a.pairs, 5);
        assert!((a.rate - 0.5).abs() < 1e-12);
        assert!((a.se - (0.25f64 / 5.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn gold_itself_agrees_fully_and_its_negation_never() {
        let gold = [0.1, 0.7, -0.2, 0.4, 0.9, 0.3];
        assert_eq!(pairwise_agreement(&gold, &gold, 2).rate, 1.0);
        let neg: Vec<f64> = gold.iter().map(|g| -g).collect();
        assert_eq!(pairwise_agreement(&neg, &gold, 2).rate, 0.0);
        assert_eq!(pairwise_agreement(&gold, &gold, 1).pairs, 0);
    }
}
