//! [`GoldJudge`]: a [`Judge`] from a gold [`RewardFn`], comparing the two responses' scores.

use rlp_core::{BoxError, Judge, RewardFn};

use crate::error::{EvalError, Result, same_len, score_checked};

/// A reward function held by reference or owned in a box.
pub enum RewardRef<'a> {
    /// Borrowed.
    Borrowed(&'a dyn RewardFn),
    /// Owned.
    Owned(Box<dyn RewardFn + 'a>),
}

impl<'a> RewardRef<'a> {
    /// The reward function.
    pub fn get(&self) -> &dyn RewardFn {
        match self {
            Self::Borrowed(r) => *r,
            Self::Owned(r) => r.as_ref(),
        }
    }
}

impl<'a> From<&'a dyn RewardFn> for RewardRef<'a> {
    fn from(r: &'a dyn RewardFn) -> Self {
        Self::Borrowed(r)
    }
}

impl<'a> From<Box<dyn RewardFn + 'a>> for RewardRef<'a> {
    fn from(r: Box<dyn RewardFn + 'a>) -> Self {
        Self::Owned(r)
    }
}

/// Gold scores of both sides, `(g_a, g_b)`, checked for length and finiteness.
pub(crate) fn gold_pair(
    gold: &dyn RewardFn,
    prompts: &[String],
    a: &[String],
    b: &[String],
) -> Result<(Vec<f64>, Vec<f64>)> {
    same_len("prompts", prompts.len(), "a", a.len())?;
    same_len("prompts", prompts.len(), "b", b.len())?;
    Ok((
        score_checked(gold, prompts, a)?,
        score_checked(gold, prompts, b)?,
    ))
}

/// The logistic function `σ(x) = 1 / (1 + e^(-x))`, written to be stable for large `|x|`.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Checks a Bradley–Terry temperature: finite and `> 0`.
pub(crate) fn check_temperature(field: &str, tau: f64) -> Result<()> {
    if !(tau.is_finite() && tau > 0.0) {
        return Err(EvalError::input(
            field,
            format!("temperature must be finite and > 0, got {tau}"),
        ));
    }
    Ok(())
}

/// Judges by a gold reward: `P(a ≻ b) = 1, ½, 0` as `g_a >, =, < g_b` (the default), or the
/// Bradley–Terry probability `σ((g_a - g_b)/τ)` with [`GoldJudge::with_temperature`].
pub struct GoldJudge<'a> {
    gold: RewardRef<'a>,
    temperature: Option<f64>,
}

impl<'a> GoldJudge<'a> {
    /// A hard judge over `gold` (a `&dyn RewardFn` or a `Box<dyn RewardFn>`).
    pub fn new(gold: impl Into<RewardRef<'a>>) -> Self {
        Self {
            gold: gold.into(),
            temperature: None,
        }
    }

    /// The Bradley–Terry form `P(a ≻ b) = σ((g_a - g_b)/τ)`, `τ` in units of the gold score.
    /// Errors unless `τ` is finite and positive.
    pub fn with_temperature(mut self, tau: f64) -> Result<Self> {
        check_temperature("tau", tau)?;
        self.temperature = Some(tau);
        Ok(self)
    }

    /// The temperature, if the judge is Bradley–Terry.
    pub fn temperature(&self) -> Option<f64> {
        self.temperature
    }

    /// `P(a ≻ b)` per row (see the type's docs).
    pub fn probabilities(
        &self,
        prompts: &[String],
        a: &[String],
        b: &[String],
    ) -> Result<Vec<f64>> {
        let (ga, gb) = gold_pair(self.gold.get(), prompts, a, b)?;
        Ok(ga
            .iter()
            .zip(&gb)
            .map(|(x, y)| match self.temperature {
                Some(tau) => sigmoid((x - y) / tau),
                None if x > y => 1.0,
                None if x < y => 0.0,
                None => 0.5,
            })
            .collect())
    }
}

impl Judge for GoldJudge<'_> {
    fn name(&self) -> String {
        match self.temperature {
            Some(t) => format!("gold-bt({}, tau={t})", self.gold.get().name()),
            None => format!("gold({})", self.gold.get().name()),
        }
    }

    fn prefer(&self, prompts: &[String], a: &[String], b: &[String]) -> Result<Vec<f64>, BoxError> {
        Ok(self.probabilities(prompts, a, b)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrate::win_rate;
    use rlp_core::FnReward;

    fn len_reward() -> FnReward<impl Fn(&str, &str) -> f32> {
        FnReward::new("len", |_p: &str, y: &str| y.len() as f32)
    }

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    // Golden: gold = length. a = ["aaa", "a", "bb"], b = ["a", "aaa", "cc"]:
    // hard → [1, 0, ½]; Bradley–Terry with τ = 2 → σ(2/2), σ(-2/2), σ(0)
    // = [0.731059, 0.268941, 0.5].
    #[test]
    fn golden_hard_and_bradley_terry() {
        let r = len_reward();
        let p = v(&["p", "p", "p"]);
        let (a, b) = (v(&["aaa", "a", "bb"]), v(&["a", "aaa", "cc"]));
        let hard = GoldJudge::new(&r as &dyn RewardFn);
        assert_eq!(hard.prefer(&p, &a, &b).unwrap(), vec![1.0, 0.0, 0.5]);
        let bt = GoldJudge::new(Box::new(len_reward()) as Box<dyn RewardFn>)
            .with_temperature(2.0)
            .unwrap();
        let q = bt.prefer(&p, &a, &b).unwrap();
        for (x, y) in q.iter().zip([0.731059, 0.268941, 0.5]) {
            assert!((x - y).abs() < 1e-6, "{q:?}");
        }
        // Both read the same votes: one win, one tie, one loss.
        for j in [&hard as &dyn Judge, &bt] {
            let w = win_rate(j, &p, &a, &b).unwrap();
            assert_eq!((w.wins, w.ties, w.losses, w.rate), (1, 1, 1, 0.5));
        }
        assert!(hard.name().contains("gold(len)"));
    }

    #[test]
    fn identical_outputs_tie_and_bad_input_errors() {
        let r = len_reward();
        let j = GoldJudge::new(&r as &dyn RewardFn);
        let t = v(&["x", "yy", "zzz"]);
        let w = win_rate(&j, &t, &t, &t).unwrap();
        assert_eq!((w.ties, w.rate), (3, 0.5));
        assert!(
            GoldJudge::new(&r as &dyn RewardFn)
                .with_temperature(0.0)
                .is_err()
        );
        assert!(
            GoldJudge::new(&r as &dyn RewardFn)
                .with_temperature(f64::NAN)
                .is_err()
        );
        assert!(j.prefer(&t, &t, &v(&["a"])).is_err());
        assert!((sigmoid(-800.0)).abs() < 1e-300 && sigmoid(800.0) == 1.0);
    }
}
