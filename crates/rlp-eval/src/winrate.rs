//! Win-rate of a policy against a reference model's outputs under a [`Judge`], with its
//! standard error (`docs/algorithms.md`, "RLP: Reward Learning on Policy").

use rlp_core::Judge;
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result, non_empty, same_len};
use crate::stats::MeanSe;

/// Preference probabilities within this distance of ½ count as ties.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Wins, ties and losses of the policy over `n` items.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WinRate {
    /// Items where the judge preferred the policy (`P(policy ≻ reference) > ½`).
    pub wins: usize,
    /// Items judged a tie (`P = ½` within [`TIE_TOLERANCE`]).
    pub ties: usize,
    /// Items where the judge preferred the reference (`P < ½`).
    pub losses: usize,
    /// Number of items.
    pub n: usize,
    /// `(wins + ½·ties) / n`.
    pub rate: f64,
    /// Standard error of `rate`: the SE of the mean of the per-item scores
    /// `s_i ∈ {1, ½, 0}` (win, tie, loss), `sqrt(Σ (s_i - rate)² / (n - 1) / n)`; 0 when `n < 2`.
    pub se: f64,
}

impl WinRate {
    /// Tallies per-item preference probabilities `P(policy ≻ reference)`: each is a win above
    /// ½, a tie at ½ and a loss below, so the per-item score is `s_i ∈ {1, ½, 0}` and
    /// `rate = mean(s) = (wins + ½·ties)/n`, `se = SE(mean(s))`.
    ///
    /// A soft judge (probabilities strictly between 0 and 1) is thereby read as a vote for the
    /// side it finds more likely; to count its uncertainty, use a judge that samples votes
    /// ([`crate::AnnotatorPool`]). Errors on no items and on values outside `[0, 1]` or NaN.
    pub fn from_preferences(prefs: &[f64]) -> Result<Self> {
        non_empty("prefs", prefs.len())?;
        if let Some(i) = prefs
            .iter()
            .position(|p| !(0.0..=1.0).contains(p) || p.is_nan())
        {
            return Err(EvalError::input(
                "prefs",
                format!("item {i}: {} is not a probability", prefs[i]),
            ));
        }
        let (mut wins, mut ties, mut losses) = (0, 0, 0);
        let scores: Vec<f64> = prefs
            .iter()
            .map(|&p| {
                if (p - 0.5).abs() <= TIE_TOLERANCE {
                    ties += 1;
                    0.5
                } else if p > 0.5 {
                    wins += 1;
                    1.0
                } else {
                    losses += 1;
                    0.0
                }
            })
            .collect();
        let m = MeanSe::of(&scores);
        Ok(Self {
            wins,
            ties,
            losses,
            n: prefs.len(),
            rate: m.mean,
            se: m.se,
        })
    }
}

/// The win-rate of `policy_outputs` over `reference_outputs` (one pair per prompt) under
/// `judge`: `judge.prefer(prompts, policy_outputs, reference_outputs)` gives
/// `P(policy ≻ reference)` per item, tallied by [`WinRate::from_preferences`].
///
/// Errors on empty or mismatched inputs (naming the argument), and when the judge fails or
/// returns the wrong number of values or non-probabilities.
pub fn win_rate(
    judge: &dyn Judge,
    prompts: &[String],
    policy_outputs: &[String],
    reference_outputs: &[String],
) -> Result<WinRate> {
    non_empty("prompts", prompts.len())?;
    same_len(
        "prompts",
        prompts.len(),
        "policy_outputs",
        policy_outputs.len(),
    )?;
    same_len(
        "prompts",
        prompts.len(),
        "reference_outputs",
        reference_outputs.len(),
    )?;
    let judge_err = |message: String| EvalError::Judge {
        name: judge.name(),
        message,
    };
    let prefs = judge
        .prefer(prompts, policy_outputs, reference_outputs)
        .map_err(|e| judge_err(e.to_string()))?;
    if prefs.len() != prompts.len() {
        return Err(judge_err(format!(
            "returned {} preferences for {} items",
            prefs.len(),
            prompts.len()
        )));
    }
    WinRate::from_preferences(&prefs).map_err(|e| judge_err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::BoxError;

    struct Constant(f64);
    impl Judge for Constant {
        fn name(&self) -> String {
            format!("constant {}", self.0)
        }
        fn prefer(&self, p: &[String], _: &[String], _: &[String]) -> Result<Vec<f64>, BoxError> {
            Ok(vec![self.0; p.len()])
        }
    }

    fn texts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    #[test]
    fn always_a_gives_one_and_symmetric_gives_half() {
        let t = texts(5);
        let w = win_rate(&Constant(1.0), &t, &t, &t).unwrap();
        assert_eq!((w.wins, w.ties, w.losses, w.n), (5, 0, 0, 5));
        assert_eq!((w.rate, w.se), (1.0, 0.0));
        let h = win_rate(&Constant(0.5), &t, &t, &t).unwrap();
        assert_eq!((h.ties, h.rate, h.se), (5, 0.5, 0.0));
        let l = win_rate(&Constant(0.2), &t, &t, &t).unwrap();
        assert_eq!((l.losses, l.rate), (5, 0.0));
    }

    // Golden SE: prefs [0.9, 1, 0.5, 0] → scores [1, 1, ½, 0], wins 2, ties 1, losses 1,
    // rate = (2 + ½)/4 = 0.625. Deviations 0.375, 0.375, -0.125, -0.625 → Σ² = 0.6875;
    // s² = 0.6875/3 = 0.229167; se = sqrt(0.229167/4) = 0.239357.
    #[test]
    fn golden_standard_error() {
        let w = WinRate::from_preferences(&[0.9, 1.0, 0.5, 0.0]).unwrap();
        assert_eq!((w.wins, w.ties, w.losses, w.n), (2, 1, 1, 4));
        assert_eq!(w.rate, 0.625);
        assert!((w.se - 0.239357).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn bad_inputs_name_the_argument() {
        let t = texts(3);
        let e = win_rate(&Constant(1.0), &[], &[], &[]).unwrap_err();
        assert!(e.to_string().contains("`prompts`"), "{e}");
        let e = win_rate(&Constant(1.0), &t, &texts(2), &t).unwrap_err();
        assert!(e.to_string().contains("`policy_outputs` has 2"), "{e}");
        let e = win_rate(&Constant(1.0), &t, &t, &texts(4)).unwrap_err();
        assert!(e.to_string().contains("`reference_outputs` has 4"), "{e}");
        let e = win_rate(&Constant(1.5), &t, &t, &t).unwrap_err();
        assert!(e.to_string().contains("not a probability"), "{e}");
        assert!(WinRate::from_preferences(&[f64::NAN]).is_err());
    }
}
