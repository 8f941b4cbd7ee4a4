//! The two seams every optimizer and evaluator speaks.

/// A boxed error any implementation can return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Scores a batch of (prompt, response) texts with one scalar each.
///
/// Learned reward models, ensembles, gold scorers, rule-based scorers and remote judges all
/// implement it, so any optimizer can be pointed at any of them.
pub trait RewardFn {
    /// A short name for logs and reports.
    fn name(&self) -> String;

    /// One score per pair; `prompts.len() == responses.len()`.
    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError>;
}

/// A pairwise preference model: `P(a ≻ b | prompt)` for each row.
pub trait Judge {
    /// A short name for logs and reports.
    fn name(&self) -> String;

    /// One probability in `[0, 1]` per row that response `a` is preferred to `b`.
    fn prefer(&self, prompts: &[String], a: &[String], b: &[String]) -> Result<Vec<f64>, BoxError>;
}

/// The check every [`RewardFn`] makes first: one response per prompt (the error names the
/// reward).
pub fn check_pairing(name: &str, prompts: &[String], responses: &[String]) -> Result<(), BoxError> {
    if prompts.len() != responses.len() {
        return Err(format!(
            "{name}: {} prompts but {} responses",
            prompts.len(),
            responses.len()
        )
        .into());
    }
    Ok(())
}

/// A [`RewardFn`] from a closure scoring one pair, for rule-based rewards and tests.
pub struct FnReward<F> {
    name: String,
    f: F,
}

impl<F: Fn(&str, &str) -> f32> FnReward<F> {
    /// Wraps `f(prompt, response) -> score` under a name.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        Self {
            name: name.into(),
            f,
        }
    }
}

impl<F: Fn(&str, &str) -> f32> RewardFn for FnReward<F> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
        check_pairing(&self.name, prompts, responses)?;
        Ok(prompts
            .iter()
            .zip(responses)
            .map(|(p, r)| (self.f)(p, r))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fn_reward_scores_and_checks_lengths() {
        let r = FnReward::new("len", |_p: &str, y: &str| y.len() as f32);
        let s = r
            .score(&["a".into(), "b".into()], &["xy".into(), "".into()])
            .unwrap();
        assert_eq!(s, vec![2.0, 0.0]);
        assert!(r.score(&["a".into()], &[]).is_err());
    }
}
