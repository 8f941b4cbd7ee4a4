//! Self-consistency of sampled answers (Wang et al., ICLR 2023): with k samples per prompt,
//! the accuracy of one sample against the accuracy of the majority answer. RLP-SPG keeps a
//! prompt when its largest answer cluster is large enough, so majority-of-k must beat a single
//! sample for the synthetic preferences to be better than chance.
//!
//! With `a_ij` the answer of sample j to prompt i (or none) and `a*_i` the correct answer:
//! - single-sample accuracy = `mean_ij 1[a_ij = a*_i]`, its standard error taken over prompts
//!   (each prompt's mean over its k samples is one observation, since samples of one prompt are
//!   correlated);
//! - majority accuracy = `mean_i 1[maj_j a_ij = a*_i]`, where `maj` is the most frequent answer
//!   among those that exist, ties broken by first appearance; a prompt with no answer at all is
//!   wrong.

use std::collections::HashMap;
use std::hash::Hash;

use crate::error::{EvalError, Result, non_empty, same_len};
use crate::stats::MeanSe;

/// The most frequent present answer (ties: the one that appears first); `None` when no sample
/// has an answer.
pub fn majority<T: Eq + Hash + Clone>(answers: &[Option<T>]) -> Option<T> {
    let mut counts: HashMap<&T, (usize, usize)> = HashMap::new();
    for (i, a) in answers.iter().enumerate() {
        if let Some(a) = a {
            counts.entry(a).or_insert((0, i)).0 += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|(_, (ca, fa)), (_, (cb, fb))| ca.cmp(cb).then(fb.cmp(fa)))
        .map(|(a, _)| a.clone())
}

/// Single-sample and majority accuracy over prompts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SelfConsistency {
    /// Samples per prompt.
    pub k: usize,
    /// Accuracy of one sample (mean ± SE over prompts).
    pub accuracy: MeanSe,
    /// Accuracy of the majority answer of the k samples (mean ± SE over prompts).
    pub majority_accuracy: MeanSe,
    /// Mean size of the largest answer cluster, as a fraction of k (RLP-SPG's confidence).
    pub mean_confidence: f64,
}

/// Self-consistency of `answers[i]` (the k answers of prompt i, the same k for every prompt)
/// against `correct[i]`. Errors on no prompts, mismatched counts, or prompts with different
/// or zero k (naming the prompt).
pub fn self_consistency<T: Eq + Hash + Clone>(
    answers: &[Vec<Option<T>>],
    correct: &[T],
) -> Result<SelfConsistency> {
    non_empty("answers", answers.len())?;
    same_len("answers", answers.len(), "correct", correct.len())?;
    let k = answers[0].len();
    let mut single = Vec::with_capacity(answers.len());
    let mut majority_right = Vec::with_capacity(answers.len());
    let mut confidence = 0.0;
    for (i, (a, c)) in answers.iter().zip(correct).enumerate() {
        if a.len() != k || k == 0 {
            return Err(EvalError::input(
                "answers",
                format!(
                    "prompt {i} has {} samples, prompt 0 has {k} (need the same k > 0)",
                    a.len()
                ),
            ));
        }
        let right = a.iter().filter(|x| x.as_ref() == Some(c)).count();
        single.push(right as f64 / k as f64);
        let m = majority(a);
        majority_right.push(f64::from(u8::from(m.as_ref() == Some(c))));
        let largest = match &m {
            Some(m) => a.iter().filter(|x| x.as_ref() == Some(m)).count(),
            None => 1, // every unanswered sample is a cluster of its own
        };
        confidence += largest as f64 / k as f64;
    }
    Ok(SelfConsistency {
        k,
        accuracy: MeanSe::of(&single),
        majority_accuracy: MeanSe::of(&majority_right),
        mean_confidence: confidence / answers.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_breaks_ties_by_first_appearance_and_skips_missing() {
        assert_eq!(majority(&[Some(3), Some(4), Some(4), Some(3)]), Some(3));
        assert_eq!(majority(&[None, Some(4), None, None]), Some(4));
        assert_eq!(majority(&[Some(1), Some(2), Some(2)]), Some(2));
        assert_eq!(majority::<i64>(&[None, None]), None);
        assert_eq!(majority::<i64>(&[]), None);
    }

    /// Three prompts, k = 4, correct answers 5, 6, 7.
    /// - prompt 0: [5, 5, 1, None] → 2/4 right, majority 5 (right), largest cluster 2/4;
    /// - prompt 1: [1, 6, 2, 2]    → 1/4 right, majority 2 (wrong), largest 2/4;
    /// - prompt 2: [None ×4]       → 0/4, no majority (wrong), largest 1/4.
    ///
    /// Single accuracy: mean(0.5, 0.25, 0) = 0.25, SE = sd(0.5, 0.25, 0)/√3 = 0.25/√3.
    /// Majority: mean(1, 0, 0) = 1/3, SE = sd(1,0,0)/√3 = √(1/3)/√3 = 1/3.
    /// Confidence: mean(0.5, 0.5, 0.25) = 5/12.
    #[test]
    fn golden_three_prompts() {
        let answers = vec![
            vec![Some(5), Some(5), Some(1), None],
            vec![Some(1), Some(6), Some(2), Some(2)],
            vec![None, None, None, None],
        ];
        let s = self_consistency(&answers, &[5, 6, 7]).unwrap();
        assert_eq!(s.k, 4);
        assert!((s.accuracy.mean - 0.25).abs() < 1e-12);
        assert!((s.accuracy.se - 0.25 / 3f64.sqrt()).abs() < 1e-12);
        assert!((s.majority_accuracy.mean - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.majority_accuracy.se - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.mean_confidence - 5.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn bad_input_names_the_argument() {
        assert!(self_consistency::<i64>(&[], &[]).is_err());
        let e = self_consistency(&[vec![Some(1)], vec![]], &[1, 2])
            .unwrap_err()
            .to_string();
        assert!(e.contains("prompt 1"), "{e}");
        let e = self_consistency(&[vec![Some(1)]], &[1, 2])
            .unwrap_err()
            .to_string();
        assert!(e.contains("correct"), "{e}");
    }
}
