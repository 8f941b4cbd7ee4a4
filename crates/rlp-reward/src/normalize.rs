//! Reward normalisation (Ziegler et al. 2019): a reward model's scores mapped so that a fixed
//! reference set of texts scores mean 0 and standard deviation 1, `r' = (r − μ) / σ`, folded into
//! the score head as an affine map. Normalising every reward model on the same texts makes one KL
//! coefficient mean the same against each.

use std::path::Path;

use burn::tensor::Device;
use rlp_core::PreferencePair;

use crate::error::{Result, RewardError};
use crate::learned::LearnedReward;

/// Texts whose scores fix a reward model's scale, e.g. the SFT model's samples (the RLP pipeline
/// takes the responses of the first pairs of its preference data).
#[derive(Debug, Clone, PartialEq)]
pub struct NormSet {
    /// The prompts, one per response.
    pub prompts: Vec<String>,
    /// The responses.
    pub responses: Vec<String>,
}

impl NormSet {
    /// Both responses of the first `pairs` pairs of `d`.
    pub fn from_pairs(d: &[PreferencePair], pairs: usize) -> Self {
        let take = &d[..pairs.min(d.len())];
        Self {
            prompts: take
                .iter()
                .flat_map(|p| [p.prompt.clone(), p.prompt.clone()])
                .collect(),
            responses: take
                .iter()
                .flat_map(|p| [p.chosen.clone(), p.rejected.clone()])
                .collect(),
        }
    }
}

/// The mean and (population) standard deviation of `scores`.
pub fn mean_sd(scores: &[f64]) -> (f64, f64) {
    let n = scores.len().max(1) as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let sd = (scores.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, sd)
}

/// Maps the reward model saved in `dir` (with its `tokenizer.json`) so that `norm`'s texts
/// score mean 0 and SD 1, saves it over the original, records the raw mean and SD in
/// `normalization.json`, and returns it reloaded on `device` as a reward function. Errors
/// when the model gives every text the same score.
pub fn normalize_saved(dir: &Path, device: &Device, norm: &NormSet) -> Result<LearnedReward> {
    let mut reward = LearnedReward::load(dir, device)?;
    let raw: Vec<f64> = reward
        .score_texts(&norm.prompts, &norm.responses)?
        .into_iter()
        .map(f64::from)
        .collect();
    let (mean, sd) = mean_sd(&raw);
    if !(sd.is_finite() && sd > 1e-8) {
        return Err(RewardError::Checkpoint {
            path: dir.to_path_buf(),
            message: format!(
                "the reward model gives {} reference texts one score ({mean}); it cannot be \
                 normalised",
                raw.len()
            ),
        });
    }
    reward.model = reward.model.affine((1.0 / sd) as f32, (-mean / sd) as f32);
    reward.model.save(dir)?;
    let path = dir.join("normalization.json");
    let record = serde_json::json!({"raw_mean": mean, "raw_sd": sd, "texts": raw.len()});
    std::fs::write(&path, format!("{record:#}")).map_err(|e| RewardError::Checkpoint {
        path: path.clone(),
        message: e.to_string(),
    })?;
    LearnedReward::load(dir, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden: scores 1, 2, 3, 4 → mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4
    /// = 1.25, SD √1.25.
    #[test]
    fn mean_and_sd_golden() {
        let (m, sd) = mean_sd(&[1.0, 2.0, 3.0, 4.0]);
        assert!((m - 2.5).abs() < 1e-12 && (sd - 1.25f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn norm_set_takes_both_sides_of_the_first_pairs() {
        let pair = |i: usize| PreferencePair {
            prompt: format!("p{i}"),
            chosen: format!("c{i}"),
            rejected: format!("r{i}"),
            margin: None,
        };
        let n = NormSet::from_pairs(&[pair(0), pair(1), pair(2)], 2);
        assert_eq!(n.prompts, ["p0", "p0", "p1", "p1"]);
        assert_eq!(n.responses, ["c0", "r0", "c1", "r1"]);
    }
}
