//! A mean with its standard error, the summary every estimator here reports.

use serde::{Deserialize, Serialize};

/// `mean ± se` over `n` per-item values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanSe {
    /// `x̄ = (1/n) Σ x_i`.
    pub mean: f64,
    /// Standard error of the mean, `s/√n` with the sample standard deviation
    /// `s² = Σ (x_i - x̄)² / (n - 1)`; 0 when `n < 2` (one value has no spread to measure).
    pub se: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanSe {
    /// `x̄` and `s/√n` of `values` (`mean = 0, se = 0, n = 0` for none). Sums run in f64.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Self {
                mean: 0.0,
                se: 0.0,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let se = if n < 2 {
            0.0
        } else {
            let ss: f64 = values.iter().map(|x| (x - mean).powi(2)).sum();
            (ss / (n - 1) as f64 / n as f64).sqrt()
        };
        Self { mean, se, n }
    }

    /// `mean ± se` with `digits` decimals for a table cell; the mean alone when there are fewer
    /// than two values (no spread was measured).
    pub fn cell(&self, digits: usize) -> String {
        if self.n > 1 {
            format!("{:.digits$} ± {:.digits$}", self.mean, self.se)
        } else {
            format!("{:.digits$}", self.mean)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Golden: x = [1, 2, 3, 6] → x̄ = 3; deviations -2, -1, 0, 3 → Σ² = 14;
    // s² = 14/3 = 4.666667; se = sqrt(4.666667/4) = sqrt(1.166667) = 1.080123.
    #[test]
    fn golden_mean_and_se() {
        let m = MeanSe::of(&[1.0, 2.0, 3.0, 6.0]);
        assert_eq!((m.mean, m.n), (3.0, 4));
        assert!((m.se - 1.080123).abs() < 1e-6, "{m:?}");
        assert_eq!(MeanSe::of(&[5.0]).se, 0.0);
        assert_eq!(MeanSe::of(&[]).n, 0);
        assert_eq!(m.cell(2), "3.00 ± 1.08");
        assert_eq!(MeanSe::of(&[5.0]).cell(1), "5.0");
    }
}
