//! Reward scores checked the same way by every trainer that scores its own samples (PPO, f-DPG,
//! Quark).

use rlp_core::RewardFn;

use crate::error::{PolicyError, Result};

/// `reward`'s scores of `responses` to `prompts`, one finite score per response. Errors
/// ([`PolicyError::RewardFn`], naming the reward): the reward fails, returns another number of
/// scores, or returns a non-finite score (naming the response's index).
pub fn checked_scores(
    reward: &dyn RewardFn,
    prompts: &[String],
    responses: &[String],
) -> Result<Vec<f32>> {
    let err = |message: String| PolicyError::RewardFn {
        name: reward.name(),
        message,
    };
    let scores = reward
        .score(prompts, responses)
        .map_err(|e| err(e.to_string()))?;
    if scores.len() != responses.len() {
        return Err(err(format!(
            "{} scores for {} responses",
            scores.len(),
            responses.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(err(format!(
            "non-finite score {} for response {i}",
            scores[i]
        )));
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::FnReward;

    #[test]
    fn passes_finite_scores_and_names_a_bad_one() {
        let prompts = vec!["a".to_string(), "b".to_string()];
        let responses = vec!["x".to_string(), "yy".to_string()];
        let len = FnReward::new("len", |_: &str, r: &str| r.len() as f32);
        assert_eq!(
            checked_scores(&len, &prompts, &responses).unwrap(),
            vec![1.0, 2.0]
        );
        let nan = FnReward::new(
            "nan",
            |_: &str, r: &str| {
                if r == "yy" { f32::NAN } else { 0.0 }
            },
        );
        let e = checked_scores(&nan, &prompts, &responses)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nan") && e.contains("response 1"), "{e}");
    }
}
