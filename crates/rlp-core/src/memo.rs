//! [`MemoReward`]: a [`RewardFn`] that remembers what it has scored, so evaluations that judge
//! the same texts many times (a reference's responses against every method's, a win-rate under
//! several judges) pay for each `(prompt, response)` once. Only for deterministic rewards.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::traits::{BoxError, RewardFn};

/// Caches the scores of a deterministic reward by `(prompt, response)`.
pub struct MemoReward<'a> {
    inner: &'a dyn RewardFn,
    cache: Mutex<HashMap<(String, String), f32>>,
}

impl<'a> MemoReward<'a> {
    /// Wraps `inner` (which must give the same score for the same pair every time).
    pub fn new(inner: &'a dyn RewardFn) -> Self {
        Self {
            inner,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Pairs scored so far.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }
}

impl RewardFn for MemoReward<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    /// Scores the pairs not seen before in one call to the inner reward (each distinct pair
    /// once), then answers every row from the cache.
    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
        crate::check_pairing(&self.inner.name(), prompts, responses)?;
        let mut cache = self.cache.lock().map_err(|_| "memo cache poisoned")?;
        let mut new_p = Vec::new();
        let mut new_r = Vec::new();
        let mut pending = std::collections::HashSet::new();
        for (p, r) in prompts.iter().zip(responses) {
            let key = (p.clone(), r.clone());
            if !cache.contains_key(&key) && pending.insert(key) {
                new_p.push(p.clone());
                new_r.push(r.clone());
            }
        }
        if !new_p.is_empty() {
            let scores = self.inner.score(&new_p, &new_r)?;
            if scores.len() != new_p.len() {
                return Err(format!(
                    "{} returned {} scores for {} responses",
                    self.inner.name(),
                    scores.len(),
                    new_p.len()
                )
                .into());
            }
            for ((p, r), s) in new_p.into_iter().zip(new_r).zip(scores) {
                cache.insert((p, r), s);
            }
        }
        Ok(prompts
            .iter()
            .zip(responses)
            .map(|(p, r)| cache[&(p.clone(), r.clone())])
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::FnReward;

    #[test]
    fn scores_each_distinct_pair_once_and_answers_like_the_inner_reward() {
        let calls = AtomicUsize::new(0);
        let inner = FnReward::new("len", |_: &str, y: &str| {
            calls.fetch_add(1, Ordering::SeqCst);
            y.len() as f32
        });
        let memo = MemoReward::new(&inner);
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let prompts = p(&["a", "a", "b", "a"]);
        let responses = p(&["xx", "xx", "xx", "yyy"]);
        assert_eq!(
            memo.score(&prompts, &responses).unwrap(),
            inner.score(&prompts, &responses).unwrap()
        );
        // 3 distinct pairs by the memo, then 4 rows by the direct call.
        assert_eq!(calls.load(Ordering::SeqCst), 3 + 4);
        assert_eq!(memo.cached(), 3);
        memo.score(&p(&["b"]), &p(&["xx"])).unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            7,
            "a cached pair is not scored again"
        );
        assert!(memo.score(&p(&["a"]), &p(&[])).is_err());
        assert_eq!(memo.name(), "len");
    }
}
