//! Choosing the next token from one row of logits: greedy, or temperature with top-k and top-p
//! (nucleus, Holtzman et al. 2020) truncation. Runs on the host over `vocab` floats.

use rlp_core::SeededRng;

/// How to pick each next token.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SamplingParams {
    /// Softmax temperature; `0` means greedy (argmax).
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (`None` = all).
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose mass reaches `p` (`None` = 1.0).
    pub top_p: Option<f32>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: None,
            top_p: None,
        }
    }
}

impl SamplingParams {
    /// An error naming the setting unless `temperature` is finite and ≥ 0, `top_k` (when set)
    /// is ≥ 1 and `top_p` (when set) lies in (0, 1]. A NaN temperature would sample garbage and a
    /// negative one would silently decode greedily.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::ModelError;
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(ModelError::input(
                "temperature",
                format!(
                    "{} is not a finite number ≥ 0 (0 decodes greedily)",
                    self.temperature
                ),
            ));
        }
        if self.top_k == Some(0) {
            return Err(ModelError::input("top_k", "0 keeps no token; use ≥ 1"));
        }
        if let Some(p) = self.top_p
            && !(p.is_finite() && p > 0.0 && p <= 1.0)
        {
            return Err(ModelError::input("top_p", format!("{p} is not in (0, 1]")));
        }
        Ok(())
    }

    /// Greedy decoding.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_k: None,
            top_p: None,
        }
    }
}

/// `log softmax(logits)[i]` with a stable log-sum-exp.
pub fn log_softmax_at(logits: &[f32], i: usize) -> f32 {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = m + logits.iter().map(|&x| (x - m).exp()).sum::<f32>().ln();
    logits[i] - lse
}

/// Index of the largest logit (first on ties).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in logits.iter().enumerate() {
        if x > logits[best] {
            best = i;
        }
    }
    best
}

/// Picks a token id from one row of logits.
pub fn sample(logits: &[f32], params: &SamplingParams, rng: &mut SeededRng) -> usize {
    if params.temperature <= 0.0 || params.top_k == Some(1) {
        return argmax(logits);
    }
    let t = params.temperature;
    let mut cand: Vec<(usize, f32)> = logits.iter().map(|&x| x / t).enumerate().collect();
    if let Some(k) = params.top_k.filter(|&k| k > 0 && k < cand.len()) {
        cand.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        cand.truncate(k);
    }
    let m = cand.iter().map(|c| c.1).fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(usize, f64)> = cand
        .iter()
        .map(|&(i, x)| (i, ((x - m) as f64).exp()))
        .collect();
    let z: f64 = probs.iter().map(|p| p.1).sum();
    probs.iter_mut().for_each(|p| p.1 /= z);
    if let Some(p) = params.top_p.filter(|&p| p < 1.0) {
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut mass = 0.0;
        let mut keep = 0;
        for q in &probs {
            mass += q.1;
            keep += 1;
            if mass >= p as f64 {
                break;
            }
        }
        probs.truncate(keep.max(1));
        let z: f64 = probs.iter().map(|p| p.1).sum();
        probs.iter_mut().for_each(|p| p.1 /= z);
    }
    let u = rng.uniform();
    let mut acc = 0.0;
    for &(i, p) in &probs {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.last().map(|p| p.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {

    #[test]
    fn invalid_settings_are_errors_naming_them() {
        let bad = |t: f32, k: Option<usize>, p: Option<f32>| {
            SamplingParams {
                temperature: t,
                top_k: k,
                top_p: p,
            }
            .validate()
            .unwrap_err()
            .to_string()
        };
        assert!(bad(f32::NAN, None, None).contains("temperature"));
        assert!(bad(-1.0, None, None).contains("temperature"));
        assert!(bad(f32::INFINITY, None, None).contains("temperature"));
        assert!(bad(1.0, Some(0), None).contains("top_k"));
        assert!(bad(1.0, None, Some(0.0)).contains("top_p"));
        assert!(bad(1.0, None, Some(1.5)).contains("top_p"));
        assert!(bad(1.0, None, Some(f32::NAN)).contains("top_p"));
        for ok in [
            SamplingParams::default(),
            SamplingParams::greedy(),
            SamplingParams {
                temperature: 0.7,
                top_k: Some(1),
                top_p: Some(1.0),
            },
        ] {
            ok.validate().unwrap();
        }
    }
    use super::*;

    #[test]
    fn greedy_and_truncation() {
        let logits = [0.0f32, 3.0, 1.0, 2.9];
        let mut r = SeededRng::new(0);
        assert_eq!(sample(&logits, &SamplingParams::greedy(), &mut r), 1);
        let k2 = SamplingParams {
            temperature: 1.0,
            top_k: Some(2),
            top_p: None,
        };
        for _ in 0..200 {
            let i = sample(&logits, &k2, &mut r);
            assert!(i == 1 || i == 3);
        }
        // p(1) ≈ 0.46, p(3) ≈ 0.42: top_p 0.3 keeps token 1 only.
        let p = SamplingParams {
            temperature: 1.0,
            top_k: None,
            top_p: Some(0.3),
        };
        for _ in 0..50 {
            assert_eq!(sample(&logits, &p, &mut r), 1);
        }
    }

    #[test]
    fn frequencies_follow_softmax() {
        // logits ln 1, ln 3 → p = 0.25, 0.75.
        let logits = [0.0f32, 3f32.ln()];
        let mut r = SeededRng::new(9);
        let n = 20_000;
        let ones = (0..n)
            .filter(|_| sample(&logits, &SamplingParams::default(), &mut r) == 1)
            .count();
        let f = ones as f64 / n as f64;
        assert!((f - 0.75).abs() < 0.015, "{f}");
        assert!((log_softmax_at(&logits, 1) - 0.75f32.ln()).abs() < 1e-6);
    }
}
