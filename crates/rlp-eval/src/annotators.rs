//! [`AnnotatorPool`]: simulated noisy annotators over a gold reward, in the spirit of
//! AlpacaFarm's simulated pools (Dubois et al. 2023).
//!
//! Choices, each an option:
//! - `k` annotators (default 4), each a Bradley–Terry voter over the gold score with its own
//!   temperature `τ_j` and label-flip probability `q_j`;
//! - every item is judged by **one** annotator drawn uniformly at random from the pool (as
//!   AlpacaFarm assigns each comparison to one simulated annotator);
//! - that annotator votes `a` with probability `σ((g_a - g_b)/τ_j)`, then flips its vote with
//!   probability `q_j`, so the item's preference is a hard 1 or 0 (never a tie);
//! - defaults `τ = [0.05, 0.1, 0.2, 0.3]` (units of the gold score: suited to a gold in
//!   `[0, 1]` such as a classifier probability; rescale with [`AnnotatorPoolConfig::scaled`])
//!   and `q = 0`, since AlpacaFarm adds no flips at evaluation;
//!   [`AnnotatorPoolConfig::training`] adds its 25% flips for labelling training pairs.
//!
//! Votes come from one seeded stream (three draws per item whatever the outcome), so a pool
//! built from the same config gives the same votes for the same sequence of calls.

use std::sync::Mutex;

use rlp_core::{BoxError, Judge, SeededRng};
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::judge::{RewardRef, check_temperature, gold_pair, sigmoid};

/// One simulated annotator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Annotator {
    /// Bradley–Terry temperature `τ > 0` in units of the gold score (small = decisive).
    pub temperature: f64,
    /// Probability in `[0, 1]` of flipping the vote after it is drawn.
    pub flip_prob: f64,
}

/// The pool's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AnnotatorPoolConfig {
    /// The annotators (at least one).
    pub annotators: Vec<Annotator>,
    /// Seed of the stream that assigns annotators and draws votes.
    pub seed: u64,
}

impl Default for AnnotatorPoolConfig {
    fn default() -> Self {
        Self {
            annotators: [0.05, 0.1, 0.2, 0.3]
                .into_iter()
                .map(|temperature| Annotator {
                    temperature,
                    flip_prob: 0.0,
                })
                .collect(),
            seed: 0,
        }
    }
}

impl AnnotatorPoolConfig {
    /// The default pool with AlpacaFarm's 25% label flips on every annotator, for labelling
    /// training pairs (`docs/algorithms.md`: "25% label flips to training labels, none at
    /// evaluation").
    pub fn training() -> Self {
        Self::default().with_flip_prob(0.25)
    }

    /// Sets every annotator's flip probability to `q`.
    pub fn with_flip_prob(mut self, q: f64) -> Self {
        self.annotators.iter_mut().for_each(|a| a.flip_prob = q);
        self
    }

    /// Multiplies every temperature by `s` (for a gold score on another scale).
    pub fn scaled(mut self, s: f64) -> Self {
        self.annotators.iter_mut().for_each(|a| a.temperature *= s);
        self
    }

    /// Errors on an empty pool, a temperature that is not finite and positive, or a flip
    /// probability outside `[0, 1]`; names the annotator.
    pub fn validate(&self) -> Result<()> {
        if self.annotators.is_empty() {
            return Err(EvalError::input("annotators", "the pool is empty"));
        }
        for (j, a) in self.annotators.iter().enumerate() {
            check_temperature(&format!("annotators[{j}].temperature"), a.temperature)?;
            if !(0.0..=1.0).contains(&a.flip_prob) {
                return Err(EvalError::input(
                    &format!("annotators[{j}].flip_prob"),
                    format!("{} is not a probability", a.flip_prob),
                ));
            }
        }
        Ok(())
    }
}

/// One simulated judgement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vote {
    /// Index of the annotator that judged the item.
    pub annotator: usize,
    /// Its Bradley–Terry probability `σ((g_a - g_b)/τ)` before any flip.
    pub p_a: f64,
    /// The final vote: `true` when `a` is preferred.
    pub prefers_a: bool,
}

/// A seeded pool of simulated annotators over a gold [`rlp_core::RewardFn`] (see the module
/// docs). As a [`Judge`] it returns hard votes, 1.0 for `a` and 0.0 for `b`.
pub struct AnnotatorPool<'a> {
    gold: RewardRef<'a>,
    config: AnnotatorPoolConfig,
    rng: Mutex<SeededRng>,
}

impl<'a> AnnotatorPool<'a> {
    /// A pool over `gold` (a `&dyn RewardFn` or a `Box<dyn RewardFn>`); validates `config`.
    pub fn new(gold: impl Into<RewardRef<'a>>, config: AnnotatorPoolConfig) -> Result<Self> {
        config.validate()?;
        let rng = Mutex::new(SeededRng::new(config.seed).fork("rlp-eval/annotators"));
        Ok(Self {
            gold: gold.into(),
            config,
            rng,
        })
    }

    /// The pool's settings.
    pub fn config(&self) -> &AnnotatorPoolConfig {
        &self.config
    }

    /// Judges each row `(prompt, a, b)` by one randomly drawn annotator.
    pub fn votes(&self, prompts: &[String], a: &[String], b: &[String]) -> Result<Vec<Vote>> {
        let (ga, gb) = gold_pair(self.gold.get(), prompts, a, b)?;
        let mut rng = self
            .rng
            .lock()
            .map_err(|_| EvalError::input("AnnotatorPool", "rng lock poisoned by a panic"))?;
        let k = self.config.annotators.len();
        Ok(ga
            .iter()
            .zip(&gb)
            .map(|(x, y)| {
                let annotator = rng.below(k);
                let (u_vote, u_flip) = (rng.uniform(), rng.uniform());
                let ann = self.config.annotators[annotator];
                let p_a = sigmoid((x - y) / ann.temperature);
                let vote = u_vote < p_a;
                Vote {
                    annotator,
                    p_a,
                    prefers_a: vote != (u_flip < ann.flip_prob),
                }
            })
            .collect())
    }
}

impl Judge for AnnotatorPool<'_> {
    fn name(&self) -> String {
        format!(
            "annotators(k={}, gold={})",
            self.config.annotators.len(),
            self.gold.get().name()
        )
    }

    fn prefer(&self, prompts: &[String], a: &[String], b: &[String]) -> Result<Vec<f64>, BoxError> {
        Ok(self
            .votes(prompts, a, b)?
            .into_iter()
            .map(|v| if v.prefers_a { 1.0 } else { 0.0 })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrate::win_rate;
    use rlp_core::{FnReward, RewardFn};

    /// Gold = the response parsed as a number.
    fn num() -> FnReward<impl Fn(&str, &str) -> f32> {
        FnReward::new("num", |_p: &str, y: &str| y.parse().unwrap_or(0.0))
    }

    fn rows(n: usize, a: &str, b: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
        (vec!["p".into(); n], vec![a.into(); n], vec![b.into(); n])
    }

    #[test]
    fn seeded_and_uses_every_annotator() {
        let g = num();
        let (p, a, b) = rows(400, "0.1", "0.0");
        let pool = |seed| {
            AnnotatorPool::new(
                &g as &dyn RewardFn,
                AnnotatorPoolConfig {
                    seed,
                    ..Default::default()
                },
            )
            .unwrap()
        };
        let v1 = pool(3).votes(&p, &a, &b).unwrap();
        assert_eq!(v1, pool(3).votes(&p, &a, &b).unwrap());
        assert_ne!(v1, pool(4).votes(&p, &a, &b).unwrap());
        for j in 0..4 {
            let c = v1.iter().filter(|v| v.annotator == j).count();
            assert!(c > 60, "annotator {j} judged {c} of 400");
        }
        // p_a is the annotator's own σ(0.1/τ_j).
        let taus = [0.05, 0.1, 0.2, 0.3];
        for v in &v1 {
            // (Gold scores are f32, so 0.1 arrives as 0.100000001.)
            assert!((v.p_a - sigmoid(0.1 / taus[v.annotator])).abs() < 1e-6);
        }
    }

    #[test]
    fn clear_gap_wins_and_full_flip_loses() {
        let g = num();
        let (p, a, b) = rows(50, "100", "0");
        let clean =
            AnnotatorPool::new(&g as &dyn RewardFn, AnnotatorPoolConfig::default()).unwrap();
        assert_eq!(win_rate(&clean, &p, &a, &b).unwrap().rate, 1.0);
        let flipped = AnnotatorPool::new(
            &g as &dyn RewardFn,
            AnnotatorPoolConfig::default().with_flip_prob(1.0),
        )
        .unwrap();
        assert_eq!(win_rate(&flipped, &p, &a, &b).unwrap().rate, 0.0);
    }

    // One annotator, τ = 1, q = 0.1, gap Δ = 1: P(vote a) = 0.9·σ(1) + 0.1·(1 - σ(1))
    // = 0.9·0.731059 + 0.1·0.268941 = 0.684847. Over 4000 items the SE is
    // sqrt(0.684847·0.315153/4000) = 0.00735; allow 4 SE.
    #[test]
    fn vote_rate_matches_bradley_terry_with_flips() {
        let (p, a, b) = rows(4000, "1", "0");
        let cfg = AnnotatorPoolConfig {
            annotators: vec![Annotator {
                temperature: 1.0,
                flip_prob: 0.1,
            }],
            seed: 11,
        };
        let pool = AnnotatorPool::new(Box::new(num()) as Box<dyn RewardFn>, cfg).unwrap();
        let w = win_rate(&pool, &p, &a, &b).unwrap();
        assert!((w.rate - 0.684847).abs() < 4.0 * 0.00735, "{w:?}");
        assert_eq!(w.ties, 0);
        assert!(pool.name().starts_with("annotators(k=1"));
    }

    #[test]
    fn invalid_pools_are_errors_naming_the_field() {
        let g = num();
        let bad = |cfg: AnnotatorPoolConfig| {
            AnnotatorPool::new(&g as &dyn RewardFn, cfg)
                .err()
                .unwrap()
                .to_string()
        };
        assert!(
            bad(AnnotatorPoolConfig {
                annotators: vec![],
                seed: 0
            })
            .contains("annotators")
        );
        assert!(
            bad(AnnotatorPoolConfig::default().with_flip_prob(1.5))
                .contains("annotators[0].flip_prob")
        );
        assert!(
            bad(AnnotatorPoolConfig::default().scaled(-1.0)).contains("annotators[0].temperature")
        );
        let t = AnnotatorPoolConfig::training();
        assert!(t.annotators.iter().all(|a| a.flip_prob == 0.25));
    }
}
