//! Synthetic preference labelling in the protocol of Gao et al. and Coste et al.
//! (`docs/algorithms.md`): sample two responses per prompt from a policy, let a gold
//! scorer pick the better one, then flip a fraction of the labels (25% by default, as AlpacaFarm
//! does) so proxy reward models learn from noisy human-like preferences.

use rlp_core::{PreferencePair, RewardFn, SeededRng};
use rlp_models::{CausalLm, GenerationConfig, TextTokenizer, generate_text};

use crate::error::{Result, RewardError};

/// Labelling settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LabelConfig {
    /// Probability of swapping chosen and rejected after the gold decision.
    pub flip: f64,
    /// Seed of the flips (and of sampling in [`sample_and_label`]).
    pub seed: u64,
}

impl Default for LabelConfig {
    fn default() -> Self {
        Self {
            flip: 0.25,
            seed: 0,
        }
    }
}

/// What labelling did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LabelReport {
    /// Pairs written.
    pub pairs: usize,
    /// Of those, labels swapped by the noise.
    pub flipped: usize,
    /// Skipped: the two responses are the same text.
    pub identical: usize,
    /// Skipped: the gold scorer gave both the same score (no preference to record).
    pub ties: usize,
}

/// Labels `(a[i], b[i])` for `prompts[i]` with `gold`, then flips each label with probability
/// `config.flip`. Pairs with identical texts or tied gold scores are skipped and counted.
pub fn label_pairs(
    prompts: &[String],
    a: &[String],
    b: &[String],
    gold: &dyn RewardFn,
    config: &LabelConfig,
) -> Result<(Vec<PreferencePair>, LabelReport)> {
    if !(0.0..=1.0).contains(&config.flip) {
        return Err(RewardError::invalid(
            "flip",
            format!("{} is not in [0, 1]", config.flip),
        ));
    }
    if a.len() != prompts.len() || b.len() != prompts.len() {
        return Err(RewardError::invalid(
            "responses",
            format!(
                "{} prompts, {} and {} responses",
                prompts.len(),
                a.len(),
                b.len()
            ),
        ));
    }
    let scorer = |r: &[String]| {
        gold.score(prompts, r).map_err(|e| RewardError::Scorer {
            name: gold.name(),
            message: e.to_string(),
        })
    };
    let (sa, sb) = (scorer(a)?, scorer(b)?);
    if sa.len() != prompts.len() || sb.len() != prompts.len() {
        return Err(RewardError::Scorer {
            name: gold.name(),
            message: format!("wrong number of scores for {} texts", prompts.len()),
        });
    }
    let mut rng = SeededRng::new(config.seed).fork("label-flips");
    let mut report = LabelReport::default();
    let mut pairs = Vec::with_capacity(prompts.len());
    for i in 0..prompts.len() {
        if a[i] == b[i] {
            report.identical += 1;
            continue;
        }
        if sa[i] == sb[i] || !sa[i].is_finite() || !sb[i].is_finite() {
            report.ties += 1;
            continue;
        }
        let a_wins = sa[i] > sb[i];
        // One draw per labelled pair, so the flips do not depend on the scores' values.
        let flip = rng.bernoulli(config.flip);
        let (chosen, rejected) = if a_wins != flip {
            (&a[i], &b[i])
        } else {
            (&b[i], &a[i])
        };
        report.flipped += usize::from(flip);
        pairs.push(PreferencePair {
            prompt: prompts[i].clone(),
            chosen: chosen.clone(),
            rejected: rejected.clone(),
            margin: None,
        });
    }
    report.pairs = pairs.len();
    Ok((pairs, report))
}

/// Samples two responses per prompt from `policy` (with `generation`'s settings, seeded by
/// `config.seed`) and labels them with [`label_pairs`].
pub fn sample_and_label(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    generation: &GenerationConfig,
    gold: &dyn RewardFn,
    config: &LabelConfig,
) -> Result<(Vec<PreferencePair>, LabelReport)> {
    let mut rng = SeededRng::new(config.seed).fork("label-samples");
    let a = generate_text(policy, tokenizer, prompts, generation, &mut rng)?;
    let b = generate_text(policy, tokenizer, prompts, generation, &mut rng)?;
    let texts = |c: Vec<rlp_core::Completion>| c.into_iter().map(|c| c.text).collect::<Vec<_>>();
    label_pairs(prompts, &texts(a), &texts(b), gold, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::FnReward;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn gold_decides_and_skips_are_counted() {
        let gold = FnReward::new("len", |_: &str, y: &str| y.len() as f32);
        let p = strings(&["p"; 4]);
        let a = strings(&["long one", "x", "same", "ab"]);
        let b = strings(&["short", "yy", "same", "cd"]);
        let cfg = LabelConfig { flip: 0.0, seed: 1 };
        let (pairs, r) = label_pairs(&p, &a, &b, &gold, &cfg).unwrap();
        assert_eq!(
            r,
            LabelReport {
                pairs: 2,
                flipped: 0,
                identical: 1,
                ties: 1
            }
        );
        assert_eq!(
            (pairs[0].chosen.as_str(), pairs[0].rejected.as_str()),
            ("long one", "short")
        );
        assert_eq!(
            (pairs[1].chosen.as_str(), pairs[1].rejected.as_str()),
            ("yy", "x")
        );
        let all = LabelConfig { flip: 1.0, seed: 1 };
        let (flipped, r) = label_pairs(&p, &a, &b, &gold, &all).unwrap();
        assert_eq!(r.flipped, 2);
        assert_eq!(flipped[0].chosen, "short");
        assert!(label_pairs(&p, &a, &b, &gold, &LabelConfig { flip: 1.5, seed: 0 }).is_err());
        assert!(label_pairs(&p, &a[..2], &b, &gold, &cfg).is_err());
    }

    /// The flip rate is Bernoulli(p): over 4,000 pairs at p = 0.25 the count is within 4σ
    /// (σ = √(4000·0.25·0.75) ≈ 27.4) of 1,000, and a seed fixes it exactly.
    #[test]
    fn flip_rate_matches_and_is_seeded() {
        let gold = FnReward::new("len", |_: &str, y: &str| y.len() as f32);
        let n = 4000;
        let p = vec!["p".to_string(); n];
        let a = vec!["aa".to_string(); n];
        let b = vec!["b".to_string(); n];
        let cfg = LabelConfig::default();
        let (_, r) = label_pairs(&p, &a, &b, &gold, &cfg).unwrap();
        assert!(
            (r.flipped as f64 - 1000.0).abs() < 4.0 * 27.4,
            "{}",
            r.flipped
        );
        let (_, again) = label_pairs(&p, &a, &b, &gold, &cfg).unwrap();
        assert_eq!(r, again);
    }
}
