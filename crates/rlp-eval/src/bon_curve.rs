//! Best-of-n curves over a prompt set: the per-prompt unbiased estimates of
//! [`best_of_n_curve`] averaged over prompts, with standard errors, at `n = 1, 2, 4, …, N`
//! ([`candidate_counts`]). The gold gain of each `n` is paired with `n = 1` of the same prompt.

use serde::{Deserialize, Serialize};

use crate::best_of_n::{BonPoint, best_of_n_curve};
use crate::error::{Result, non_empty, same_len};
use crate::stats::MeanSe;

/// One point of the averaged curve (a line of `bon.jsonl`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BonCurvePoint {
    /// Number of candidates.
    pub n: usize,
    /// Best-of-n's analytic KL in nats.
    pub kl: f64,
    /// Expected gold score of the proxy-best of `n`, mean over prompts.
    pub gold: f64,
    /// Standard error of `gold` over prompts.
    pub gold_se: f64,
    /// Expected gold gain of the proxy-best of `n` over one sample (`n = 1`), mean over prompts.
    pub gold_gain: f64,
    /// Standard error of `gold_gain` over prompts (paired by prompt, so smaller than
    /// `gold_se`).
    pub gold_gain_se: f64,
    /// Expected proxy score of the proxy-best of `n`, mean over prompts.
    pub proxy: f64,
    /// Standard error of `proxy` over prompts.
    pub proxy_se: f64,
}

/// `1, 2, 4, …` up to `big_n`, and `big_n` itself.
pub fn candidate_counts(big_n: usize) -> Vec<usize> {
    let mut ns: Vec<usize> = (0..usize::BITS)
        .map(|k| 1usize << k)
        .take_while(|&n| n <= big_n)
        .collect();
    if ns.last() != Some(&big_n) {
        ns.push(big_n);
    }
    ns
}

/// The unbiased best-of-n estimates ([`best_of_n_curve`]) per prompt for each `n` of
/// `ns`, averaged over prompts with standard errors; `proxy[prompt]` and `gold[prompt]` are the
/// same prompt's samples. The gold gain is measured against `n = 1` of the same prompt, so `ns`
/// need not contain 1.
pub fn mean_bon_curve(
    proxy: &[Vec<f64>],
    gold: &[Vec<f64>],
    ns: &[usize],
) -> Result<Vec<BonCurvePoint>> {
    non_empty("proxy", proxy.len())?;
    same_len("proxy", proxy.len(), "gold", gold.len())?;
    let with_one: Vec<usize> = std::iter::once(1).chain(ns.iter().copied()).collect();
    let curves: Vec<Vec<BonPoint>> = proxy
        .iter()
        .zip(gold)
        .map(|(p, g)| best_of_n_curve(p, g, &with_one))
        .collect::<Result<_>>()?;
    Ok(ns
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let column = |f: &dyn Fn(&Vec<BonPoint>) -> f64| {
                MeanSe::of(&curves.iter().map(f).collect::<Vec<_>>())
            };
            let gold = column(&|c| c[i + 1].gold);
            let gain = column(&|c| c[i + 1].gold - c[0].gold);
            let proxy = column(&|c| c[i + 1].proxy);
            BonCurvePoint {
                n,
                kl: curves[0][i + 1].kl,
                gold: gold.mean,
                gold_se: gold.se,
                gold_gain: gain.mean,
                gold_gain_se: gain.se,
                proxy: proxy.mean,
                proxy_se: proxy.se,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_counts_are_powers_of_two_and_n() {
        assert_eq!(candidate_counts(1), vec![1]);
        assert_eq!(candidate_counts(8), vec![1, 2, 4, 8]);
        assert_eq!(candidate_counts(10), vec![1, 2, 4, 8, 10]);
    }

    // Golden: two prompts, N = 2.
    // A: proxy [1, 2], gold [0.0, 1.0]; B: proxy [2, 1], gold [0.5, 0.3].
    // n = 1 is the mean of the samples: gold A 0.5, B 0.4 → 0.45 ± sd(0.5, 0.4)/√2 = 0.05;
    //   proxy 1.5 and 1.5; gain 0. KL = log 1 − 0 = 0.
    // n = 2 takes the proxy-best: gold A 1.0, B 0.5 → 0.75 ± 0.353553/√2 = 0.25; proxy 2 ± 0;
    //   gain A 0.5, B 0.1 → 0.3 ± 0.282843/√2 = 0.2. KL = log 2 − 1/2 = 0.193147.
    #[test]
    fn mean_bon_curve_golden() {
        let proxy = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        let gold = vec![vec![0.0, 1.0], vec![0.5, 0.3]];
        let c = mean_bon_curve(&proxy, &gold, &[1, 2]).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert_eq!((c[0].n, c[1].n), (1, 2));
        assert!(close(c[0].kl, 0.0) && close(c[1].kl, 0.193147), "{c:?}");
        assert!(close(c[0].gold, 0.45) && close(c[0].gold_se, 0.05), "{c:?}");
        assert!(close(c[0].gold_gain, 0.0) && close(c[0].gold_gain_se, 0.0));
        assert!(close(c[0].proxy, 1.5) && close(c[0].proxy_se, 0.0));
        assert!(close(c[1].gold, 0.75) && close(c[1].gold_se, 0.25), "{c:?}");
        assert!(
            close(c[1].gold_gain, 0.3) && close(c[1].gold_gain_se, 0.2),
            "{c:?}"
        );
        assert!(close(c[1].proxy, 2.0) && close(c[1].proxy_se, 0.0));
        // Without n = 1 in `ns` the gain is still measured against one sample.
        let only = mean_bon_curve(&proxy, &gold, &[2]).unwrap();
        assert_eq!(only, vec![c[1]]);
        // Mismatched prompts and bad n are errors.
        assert!(mean_bon_curve(&proxy, &gold[..1], &[1]).is_err());
        assert!(mean_bon_curve(&proxy, &gold, &[3]).is_err());
    }
}
