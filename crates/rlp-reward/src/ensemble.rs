//! Reward-model ensembles against overoptimization (Coste et al., ICLR 2024; see
//! `docs/algorithms.md`): `k` members differing only by seed, combined per sample as
//!
//! - mean `R̄ = (1/k) Σ_i R_i`;
//! - worst-case optimisation (WCO) `min_i R_i`;
//! - uncertainty-weighted optimisation (UWO) `R̄ − λ · Var_i R_i` (λ = 0.5 for best-of-n, 0.1
//!   for PPO in the paper; the variance's `ddof` is configurable: 0 = population, 1 = sample).
//!
//! An [`Ensemble`] is itself a [`RewardFn`].

use rlp_core::{BoxError, RewardFn};

use crate::error::{Result, RewardError};

/// How member scores are combined.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Aggregation {
    /// `mean_i R_i`.
    Mean,
    /// `min_i R_i`.
    Wco,
    /// `mean_i R_i − λ · Var_i R_i` with `Var = Σ (R_i − R̄)² / (k − ddof)`.
    Uwo {
        /// The penalty weight λ ≥ 0.
        lambda: f64,
        /// Delta degrees of freedom of the variance (0 or 1).
        ddof: usize,
    },
}

impl Aggregation {
    /// Checks λ ≥ 0 (finite) and `ddof < k` for `k` members.
    pub fn validate(&self, k: usize) -> Result<()> {
        if k == 0 {
            return Err(RewardError::invalid(
                "members",
                "an ensemble needs at least one member",
            ));
        }
        if let Self::Uwo { lambda, ddof } = *self {
            if !(lambda.is_finite() && lambda >= 0.0) {
                return Err(RewardError::invalid(
                    "lambda",
                    format!("{lambda} is not ≥ 0"),
                ));
            }
            if ddof >= k {
                return Err(RewardError::invalid(
                    "ddof",
                    format!("{ddof} leaves no degrees of freedom with {k} members"),
                ));
            }
        }
        Ok(())
    }

    /// Combines one sample's member scores (non-empty; for UWO `ddof < scores.len()`).
    pub fn combine(&self, scores: &[f32]) -> f32 {
        let k = scores.len() as f64;
        let mean = scores.iter().map(|&s| f64::from(s)).sum::<f64>() / k;
        match *self {
            Self::Mean => mean as f32,
            Self::Wco => scores.iter().copied().fold(f32::INFINITY, f32::min),
            Self::Uwo { lambda, ddof } => {
                let ss: f64 = scores.iter().map(|&s| (f64::from(s) - mean).powi(2)).sum();
                (mean - lambda * ss / (k - ddof as f64)) as f32
            }
        }
    }
}

/// `k` reward functions combined by an [`Aggregation`].
pub struct Ensemble {
    /// The members.
    pub members: Vec<Box<dyn RewardFn>>,
    /// The combination rule.
    pub rule: Aggregation,
}

impl Ensemble {
    /// An ensemble (rule checked against the member count).
    pub fn new(members: Vec<Box<dyn RewardFn>>, rule: Aggregation) -> Result<Self> {
        rule.validate(members.len())?;
        Ok(Self { members, rule })
    }

    /// Every member's scores, `[member][sample]`.
    pub fn member_scores(&self, prompts: &[String], responses: &[String]) -> Result<Vec<Vec<f32>>> {
        self.members
            .iter()
            .map(|m| {
                let s = m
                    .score(prompts, responses)
                    .map_err(|e| RewardError::Scorer {
                        name: m.name(),
                        message: e.to_string(),
                    })?;
                if s.len() != prompts.len() {
                    return Err(RewardError::Scorer {
                        name: m.name(),
                        message: format!("{} scores for {} texts", s.len(), prompts.len()),
                    });
                }
                Ok(s)
            })
            .collect()
    }
}

impl RewardFn for Ensemble {
    fn name(&self) -> String {
        let rule = match self.rule {
            Aggregation::Mean => "mean".to_string(),
            Aggregation::Wco => "wco".to_string(),
            Aggregation::Uwo { lambda, ddof } => format!("uwo(λ={lambda},ddof={ddof})"),
        };
        format!("ensemble-{}x-{rule}", self.members.len())
    }

    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
        let all = self.member_scores(prompts, responses)?;
        Ok((0..prompts.len())
            .map(|j| {
                let column: Vec<f32> = all.iter().map(|m| m[j]).collect();
                self.rule.combine(&column)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rlp_core::FnReward;

    /// Scores (1, 2, 6): mean 3; min 1; squared deviations 4 + 1 + 9 = 14, so
    /// Var(ddof 0) = 14/3, Var(ddof 1) = 7; UWO(λ 0.5) = 3 − 7/3 = 0.666667 and 3 − 3.5 = −0.5.
    #[test]
    fn rules_golden() {
        let s = [1.0, 2.0, 6.0];
        assert_eq!(Aggregation::Mean.combine(&s), 3.0);
        assert_eq!(Aggregation::Wco.combine(&s), 1.0);
        let u0 = Aggregation::Uwo {
            lambda: 0.5,
            ddof: 0,
        }
        .combine(&s);
        assert!((u0 - 0.666667).abs() < 1e-5, "{u0}");
        let u1 = Aggregation::Uwo {
            lambda: 0.5,
            ddof: 1,
        }
        .combine(&s);
        assert!((u1 + 0.5).abs() < 1e-6, "{u1}");
    }

    #[test]
    fn ensemble_is_a_reward_fn_and_checks_its_rule() {
        let members: Vec<Box<dyn RewardFn>> = vec![
            Box::new(FnReward::new("len", |_: &str, y: &str| y.len() as f32)),
            Box::new(FnReward::new("zero", |_: &str, _: &str| 0.0)),
        ];
        let e = Ensemble::new(members, Aggregation::Wco).unwrap();
        let s = e
            .score(&["p".into(), "p".into()], &["abc".into(), "".into()])
            .unwrap();
        assert_eq!(s, vec![0.0, 0.0]);
        assert_eq!(e.name(), "ensemble-2x-wco");
        assert!(Ensemble::new(vec![], Aggregation::Mean).is_err());
        let one: Vec<Box<dyn RewardFn>> =
            vec![Box::new(FnReward::new("z", |_: &str, _: &str| 0.0))];
        let e = Ensemble::new(
            one,
            Aggregation::Uwo {
                lambda: 0.1,
                ddof: 1,
            },
        );
        assert!(e.err().unwrap().to_string().contains("`ddof`"));
        assert!(
            Aggregation::Uwo {
                lambda: -1.0,
                ddof: 0
            }
            .validate(3)
            .is_err()
        );
    }

    proptest! {
        /// WCO ≤ mean ≤ max, and UWO ≤ mean for λ ≥ 0.
        #[test]
        fn wco_below_mean_below_max(
            scores in prop::collection::vec(-100f32..100f32, 1..8),
            lambda in 0f64..2.0,
        ) {
            let mean = Aggregation::Mean.combine(&scores);
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let tol = 1e-3;
            prop_assert!(Aggregation::Wco.combine(&scores) <= mean + tol);
            prop_assert!(mean <= max + tol);
            let uwo = Aggregation::Uwo { lambda, ddof: 0 }.combine(&scores);
            prop_assert!(uwo <= mean + tol);
        }

        /// When every member agrees, UWO = WCO = mean = that score.
        #[test]
        fn agreeing_members_leave_the_score_unchanged(
            s in -100f32..100f32,
            k in 2usize..8,
            lambda in 0f64..2.0,
            ddof in 0usize..2,
        ) {
            let scores = vec![s; k];
            for rule in [Aggregation::Mean, Aggregation::Wco, Aggregation::Uwo { lambda, ddof }] {
                prop_assert!((rule.combine(&scores) - s).abs() <= 1e-4 * s.abs().max(1.0));
            }
        }
    }
}
