//! The partition function `Z = Σ_x P(x)` by importance sampling (Go et al., ICML 2023: `Z`
//! estimated as a cumulative average over all samples so far): for samples `x_i ∼ q_i` (the
//! proposal may change between batches; each term is unbiased for its own `q_i`),
//!
//! `Ẑ = (1/N) Σ_{i ≤ N} P(x_i)/q_i(x_i)`, since `E_{x∼q}[P(x)/q(x)] = Σ_x P(x) = Z`,
//!
//! kept in log space as `log Σ_i w_i` (log-sum-exp) and a count, with `log w_i = log P − log q`
//! (`−∞` for a sample with `P = 0`). Optionally each weight is clipped to `min(w_i, c)` before it
//! is added: that lowers the variance but biases `Ẑ` downwards (`E[min(w, c)] ≤ E[w] = Z`),
//! which is why it is off by default.

/// `log Σ_i e^{x_i}`, stable; `−∞` for an empty slice or all `−∞` (never NaN for non-NaN input).
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || m == f64::INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// `log((1/n) Σ_i e^{x_i})`; `−∞` for an empty slice.
pub fn log_mean_exp(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NEG_INFINITY;
    }
    log_sum_exp(xs) - (xs.len() as f64).ln()
}

/// The cumulative importance-sampling estimate `Ẑ` (module docs). It serialises exactly (its
/// floats as bit patterns, since `log Σ` starts at `−∞`), for a resumable trainer state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartitionEstimate {
    #[serde(with = "super::state::exact_f64")]
    log_sum: f64,
    count: u64,
    #[serde(with = "super::state::exact_f64")]
    max_log_weight: f64,
}

impl PartitionEstimate {
    /// An empty estimate; `weight_clip` caps each weight `P/q` at `c > 0` (`None`: no cap).
    pub fn new(weight_clip: Option<f64>) -> Self {
        Self {
            log_sum: f64::NEG_INFINITY,
            count: 0,
            max_log_weight: weight_clip.map_or(f64::INFINITY, f64::ln),
        }
    }

    /// Adds samples by their log-weights `log(P(x_i)/q(x_i))` (`−∞` for `P = 0`).
    pub fn update(&mut self, log_weights: &[f64]) {
        let clipped: Vec<f64> = log_weights
            .iter()
            .map(|&w| w.min(self.max_log_weight))
            .collect();
        self.log_sum = log_sum_exp(&[self.log_sum, log_sum_exp(&clipped)]);
        self.count += log_weights.len() as u64;
    }

    /// `log Ẑ`: `−∞` before any sample with `P > 0` has been seen.
    pub fn log_z(&self) -> f64 {
        if self.count == 0 {
            return f64::NEG_INFINITY;
        }
        self.log_sum - (self.count as f64).ln()
    }

    /// Samples seen.
    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weights 1, 3 then 2 (and one P = 0 sample): Ẑ = (1 + 3 + 2 + 0)/4 = 1.5; with the cap
    /// c = 2: (1 + 2 + 2 + 0)/4 = 1.25.
    #[test]
    fn golden_cumulative_average() {
        for (clip, want) in [(None, 1.5), (Some(2.0), 1.25)] {
            let mut z = PartitionEstimate::new(clip);
            assert_eq!(z.log_z(), f64::NEG_INFINITY);
            z.update(&[0.0, 3f64.ln()]);
            z.update(&[2f64.ln(), f64::NEG_INFINITY]);
            assert_eq!(z.count(), 4);
            assert!((z.log_z().exp() - want).abs() < 1e-12, "{clip:?}");
        }
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
        assert!((log_mean_exp(&[1000.0, 1000.0]) - 1000.0).abs() < 1e-12);
    }
}
