//! Diversity of a set of generated texts: distinct-n (Li et al. 2016), self-BLEU (Zhu et al.
//! 2018, Texygen) and mean length.
//!
//! **Tokens are whitespace-separated words** (`str::split_whitespace`): no lower-casing, no
//! punctuation splitting, so the numbers do not depend on any model's tokenizer and are
//! comparable across models. n-grams never cross the boundary between two texts.

use std::collections::{HashMap, HashSet};

use crate::error::{EvalError, Result, non_empty};

/// The whitespace tokens of a text.
pub fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

fn ngrams<'a>(toks: &'a [&'a str], n: usize) -> impl Iterator<Item = &'a [&'a str]> {
    toks.windows(n)
}

/// distinct-n = |unique n-grams| / |n-grams|, both counted over all `texts` together
/// (Li et al. 2016). 0 when the texts hold no n-gram at all (every text shorter than `n`
/// words). Errors on an empty `texts` or `n = 0`.
pub fn distinct_n(texts: &[String], n: usize) -> Result<f64> {
    non_empty("texts", texts.len())?;
    if n == 0 {
        return Err(EvalError::input("n", "n-gram order must be at least 1"));
    }
    let tokenized: Vec<Vec<&str>> = texts.iter().map(|t| words(t)).collect();
    let mut unique: HashSet<&[&str]> = HashSet::new();
    let mut total = 0usize;
    for toks in &tokenized {
        for g in ngrams(toks, n) {
            unique.insert(g);
            total += 1;
        }
    }
    Ok(if total == 0 {
        0.0
    } else {
        unique.len() as f64 / total as f64
    })
}

/// Mean number of whitespace tokens per text, `(1/N) Σ_i |words(text_i)|`. Errors on an empty
/// `texts`.
pub fn mean_length(texts: &[String]) -> Result<f64> {
    non_empty("texts", texts.len())?;
    Ok(texts.iter().map(|t| words(t).len()).sum::<usize>() as f64 / texts.len() as f64)
}

/// Counts of every n-gram of orders 1..=4 of one text.
type Counts<'a> = [HashMap<&'a [&'a str], usize>; 4];

fn counts<'a>(toks: &'a [&'a str]) -> Counts<'a> {
    std::array::from_fn(|k| {
        let mut m = HashMap::new();
        for g in ngrams(toks, k + 1) {
            *m.entry(g).or_insert(0) += 1;
        }
        m
    })
}

/// Sentence BLEU-4 of one hypothesis against several references (Papineni et al. 2002):
/// `BLEU = BP · exp(¼ Σ_{n=1..4} log p_n)` where `p_n` is the clipped n-gram precision
/// `Σ_g min(c_hyp(g), max_ref c_ref(g)) / max(1, Σ_g c_hyp(g))` and
/// `BP = 1` if `c > r` else `exp(1 - r/c)`, with `c` the hypothesis length and `r` the
/// reference length closest to it (the shorter on ties).
///
/// **Smoothing** (NLTK's `method1`, the one Texygen's self-BLEU uses): a zero numerator
/// `p_n = 0/d` becomes `ε/d` with `ε = 0.1`, except that no unigram match at all, or an empty
/// hypothesis, gives BLEU 0.
fn bleu4(hyp: &Counts<'_>, hyp_len: usize, refs: &[(&Counts<'_>, usize)]) -> f64 {
    if hyp_len == 0 {
        return 0.0;
    }
    let mut log_p = 0.0;
    for n in 0..4 {
        let mut matched = 0usize;
        let mut total = 0usize;
        for (g, &c) in &hyp[n] {
            let max_ref = refs
                .iter()
                .map(|(r, _)| r[n].get(g).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            matched += c.min(max_ref);
            total += c;
        }
        if n == 0 && matched == 0 {
            return 0.0;
        }
        let denom = total.max(1) as f64;
        let p = if matched == 0 {
            0.1 / denom
        } else {
            matched as f64 / denom
        };
        log_p += 0.25 * p.ln();
    }
    let r = refs
        .iter()
        .map(|&(_, len)| len)
        .min_by_key(|&len| (len.abs_diff(hyp_len), len))
        .unwrap_or(hyp_len);
    let bp = if hyp_len > r {
        1.0
    } else {
        (1.0 - r as f64 / hyp_len as f64).exp()
    };
    bp * log_p.exp()
}

/// Self-BLEU: the mean over texts `i` of BLEU-4 of text `i` against all other texts as
/// references (Zhu et al. 2018); higher means less diverse. BLEU-4 with uniform weights,
/// clipped counts, brevity penalty and NLTK `method1` smoothing (ε = 0.1, see the module docs
/// on tokens). Needs at least two texts. Cost is `O(N² · L)`: subsample large sets.
pub fn self_bleu(texts: &[String]) -> Result<f64> {
    if texts.len() < 2 {
        return Err(EvalError::input(
            "texts",
            format!("self-BLEU needs at least 2 texts, got {}", texts.len()),
        ));
    }
    let tokenized: Vec<Vec<&str>> = texts.iter().map(|t| words(t)).collect();
    let all: Vec<Counts<'_>> = tokenized.iter().map(|t| counts(t)).collect();
    let mut sum = 0.0;
    for i in 0..texts.len() {
        let refs: Vec<(&Counts<'_>, usize)> = (0..texts.len())
            .filter(|&j| j != i)
            .map(|j| (&all[j], tokenized[j].len()))
            .collect();
        sum += bleu4(&all[i], tokenized[i].len(), &refs);
    }
    Ok(sum / texts.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    // Golden: ["a b a", "a b"]: unigrams a b a a b → 5 total, {a, b} unique → 2/5 = 0.4.
    // Bigrams (not across texts): "a b", "b a", "a b" → 3 total, 2 unique → 0.666667.
    // Trigrams: "a b a" only → 1/1. Mean length (3 + 2)/2 = 2.5.
    #[test]
    fn golden_distinct_and_length() {
        let t = s(&["a b a", "a b"]);
        assert!((distinct_n(&t, 1).unwrap() - 0.4).abs() < 1e-12);
        assert!((distinct_n(&t, 2).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(distinct_n(&t, 3).unwrap(), 1.0);
        assert_eq!(distinct_n(&t, 4).unwrap(), 0.0);
        assert_eq!(mean_length(&t).unwrap(), 2.5);
        // Whitespace of any kind separates tokens.
        assert_eq!(mean_length(&s(&["  x\ty\n z "])).unwrap(), 3.0);
    }

    // Golden: "a b c d e" vs "a b c d f": p1 = 4/5, p2 = 3/4, p3 = 2/3, p4 = 1/2, BP = 1
    // (equal lengths) → BLEU = (4/5·3/4·2/3·1/2)^(1/4) = 0.2^(1/4) = 0.668740; symmetric, so
    // self-BLEU is the same.
    #[test]
    fn golden_self_bleu_no_smoothing() {
        let b = self_bleu(&s(&["a b c d e", "a b c d f"])).unwrap();
        assert!((b - 0.668740).abs() < 1e-6, "{b}");
        assert!((self_bleu(&s(&["x y z w", "x y z w"])).unwrap() - 1.0).abs() < 1e-12);
    }

    // Golden with smoothing: "a b c" vs "a b d": p1 = 2/3, p2 = 1/2, p3 = 0/1 → 0.1/1,
    // p4: no 4-grams, 0/max(1,0) → 0.1/1; BP = 1 → (2/3·1/2·0.1·0.1)^(1/4) = 0.240281.
    #[test]
    fn golden_self_bleu_smoothed() {
        let b = self_bleu(&s(&["a b c", "a b d"])).unwrap();
        assert!((b - 0.240281).abs() < 1e-6, "{b}");
    }

    // Golden with brevity penalty, several references and clipping.
    // ["a b", "a b c d", "x y z w"]:
    //  "a b"     vs {abcd, xyzw}: p = 1, 1, 0.1, 0.1; c = 2, r = 4 → BP = e^(1-2) → 0.116334
    //  "a b c d" vs {ab, xyzw}: p1 = 2/4, p2 = 1/3, p3 = 0.1/2, p4 = 0.1/1; c = 4, r = 4
    //            (closest) → (0.5·0.333333·0.05·0.1)^(1/4) = 0.169904
    //  "x y z w" vs {ab, abcd}: no unigram matches → 0
    //  mean = (0.116334 + 0.169904 + 0)/3 = 0.095413.
    // Clipping: "a a a a" vs "a b": p1 = min(4,1)/4 = 1/4, p2 = 0.1/3, p3 = 0.1/2, p4 = 0.1,
    //  BP = 1 (c = 4 > r = 2) → 0.080343; "a b" vs "a a a a": p1 = 1/2, p2..4 = 0.1,
    //  BP = e^(1-4/2) → 0.055011; mean 0.067677.
    #[test]
    fn golden_self_bleu_brevity_and_clipping() {
        let b = self_bleu(&s(&["a b", "a b c d", "x y z w"])).unwrap();
        assert!((b - 0.095413).abs() < 1e-6, "{b}");
        let c = self_bleu(&s(&["a a a a", "a b"])).unwrap();
        assert!((c - 0.067677).abs() < 1e-6, "{c}");
    }

    #[test]
    fn bad_input_is_an_error_naming_the_argument() {
        assert!(
            distinct_n(&[], 1)
                .unwrap_err()
                .to_string()
                .contains("`texts`")
        );
        assert!(
            distinct_n(&s(&["a"]), 0)
                .unwrap_err()
                .to_string()
                .contains("`n`")
        );
        assert!(
            self_bleu(&s(&["a"]))
                .unwrap_err()
                .to_string()
                .contains("`texts`")
        );
        assert!(mean_length(&[]).is_err());
        // Empty texts are allowed and score 0.
        assert_eq!(self_bleu(&s(&["", ""])).unwrap(), 0.0);
    }

    fn texts() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 0..8)
                .prop_map(|w| w.join(" ")),
            2..7,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn bounded_and_order_free(t in texts()) {
            let mut rev = t.clone();
            rev.reverse();
            for n in 1..4 {
                let d = distinct_n(&t, n).unwrap();
                prop_assert!((0.0..=1.0).contains(&d));
                prop_assert_eq!(d, distinct_n(&rev, n).unwrap());
            }
            let b = self_bleu(&t).unwrap();
            prop_assert!((0.0..=1.0 + 1e-12).contains(&b), "{}", b);
            prop_assert!((b - self_bleu(&rev).unwrap()).abs() < 1e-12);
            // A set of copies of one text of ≥ 4 words has self-BLEU 1 and distinct-1 ≤ 1/copies.
            let long = "a b c d e".to_string();
            let copies = vec![long; t.len()];
            prop_assert!((self_bleu(&copies).unwrap() - 1.0).abs() < 1e-12);
            prop_assert!(distinct_n(&copies, 1).unwrap() <= 1.0 / t.len() as f64 + 1e-12);
        }
    }
}
