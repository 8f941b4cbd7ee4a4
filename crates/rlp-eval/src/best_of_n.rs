//! The unbiased best-of-n estimator from `N` scored samples, and best-of-n's analytic KL
//! (`docs/algorithms.md`, "Reward-model ensembles and best-of-n"; Nakano et al. 2021, Gao et al. 2023).
//!
//! Sort the `N` samples by proxy score ascending; with `s_(i)` the gold score of the `i`-th,
//! the expected gold score of the proxy-best of `n` samples drawn without replacement is
//! `E[gold of BoN(n)] = Σ_{i=n}^{N} C(i-1, n-1) / C(N, n) · s_(i)`:
//! the `i`-th is the best of a random `n`-subset exactly when the other `n - 1` members come
//! from the `i - 1` below it.
//!
//! **Ties in the proxy** are broken uniformly at random: every run of equal proxy scores has
//! its gold scores replaced by the run's mean before the sum, which is exactly the average of
//! the estimator over all orders of the tied samples.

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result, non_empty, same_len};

/// Best-of-n's KL from the base policy, `KL(n) = log n - (n - 1)/n` nats (exact for
/// continuous proxy scores; an upper bound when samples can tie). `n = 0` gives 0.
pub fn bon_kl(n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    n.ln() - (n - 1.0) / n
}

/// The weights `w_i = C(i-1, n-1) / C(N, n)` for sorted positions `i = 1..=N` (zero below
/// `n`), summing to 1. Computed by the running product `w_N = n/N`,
/// `w_{i-1} = w_i · (i - n)/(i - 1)`, which stays in `[0, 1]` for `N` in the thousands where
/// the binomials themselves overflow. Errors unless `1 ≤ n ≤ N`.
pub fn bon_weights(big_n: usize, n: usize) -> Result<Vec<f64>> {
    if n == 0 || n > big_n {
        return Err(EvalError::input(
            "n",
            format!("best-of-n needs 1 ≤ n ≤ N = {big_n}, got n = {n}"),
        ));
    }
    let mut w = vec![0.0; big_n];
    w[big_n - 1] = n as f64 / big_n as f64;
    for i in (n + 1..=big_n).rev() {
        // w_{i-1} from w_i (1-based i).
        w[i - 2] = w[i - 1] * (i - n) as f64 / (i - 1) as f64;
    }
    Ok(w)
}

/// Gold scores ordered by proxy ascending, each tied-proxy run replaced by its mean gold.
fn sorted_gold(proxy: &[f64], gold: &[f64]) -> Result<Vec<f64>> {
    non_empty("proxy", proxy.len())?;
    same_len("proxy", proxy.len(), "gold", gold.len())?;
    for (name, xs) in [("proxy", proxy), ("gold", gold)] {
        if let Some(i) = xs.iter().position(|x| !x.is_finite()) {
            return Err(EvalError::input(
                name,
                format!("item {i} is not finite ({})", xs[i]),
            ));
        }
    }
    let mut idx: Vec<usize> = (0..proxy.len()).collect();
    idx.sort_by(|&a, &b| proxy[a].total_cmp(&proxy[b]));
    let mut out: Vec<f64> = idx.iter().map(|&i| gold[i]).collect();
    let mut start = 0;
    while start < idx.len() {
        let mut end = start + 1;
        while end < idx.len() && proxy[idx[end]] == proxy[idx[start]] {
            end += 1;
        }
        if end - start > 1 {
            let mean = out[start..end].iter().sum::<f64>() / (end - start) as f64;
            out[start..end].iter_mut().for_each(|g| *g = mean);
        }
        start = end;
    }
    Ok(out)
}

/// `E[gold of BoN(n)]` from `N` samples' `(proxy, gold)` scores (see the module docs; ties in
/// the proxy broken at random). Errors on empty or mismatched inputs, non-finite scores, or
/// `n ∉ 1..=N`.
pub fn best_of_n_gold(proxy: &[f64], gold: &[f64], n: usize) -> Result<f64> {
    let g = sorted_gold(proxy, gold)?;
    let w = bon_weights(g.len(), n)?;
    Ok(w.iter().zip(&g).map(|(w, g)| w * g).sum())
}

/// One point of a best-of-n curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BonPoint {
    /// Number of candidates.
    pub n: usize,
    /// [`bon_kl`]`(n)` in nats.
    pub kl: f64,
    /// `E[gold of BoN(n)]` from [`best_of_n_gold`].
    pub gold: f64,
    /// `E[proxy of BoN(n)]`, the same estimator on the proxy scores.
    pub proxy: f64,
}

/// Gold and proxy of best-of-n against its KL for each `n` in `ns` (the "gold and proxy vs
/// KL" curve of Gao et al.). Sorts once; errors as [`best_of_n_gold`].
pub fn best_of_n_curve(proxy: &[f64], gold: &[f64], ns: &[usize]) -> Result<Vec<BonPoint>> {
    let g = sorted_gold(proxy, gold)?;
    let mut p = proxy.to_vec();
    p.sort_by(f64::total_cmp);
    ns.iter()
        .map(|&n| {
            let w = bon_weights(g.len(), n)?;
            let dot = |xs: &[f64]| w.iter().zip(xs).map(|(w, x)| w * x).sum::<f64>();
            Ok(BonPoint {
                n,
                kl: bon_kl(n),
                gold: dot(&g),
                proxy: dot(&p),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every n-subset of 0..N, by recursion.
    fn subsets(big_n: usize, n: usize) -> Vec<Vec<usize>> {
        fn go(
            start: usize,
            big_n: usize,
            n: usize,
            cur: &mut Vec<usize>,
            out: &mut Vec<Vec<usize>>,
        ) {
            if cur.len() == n {
                out.push(cur.clone());
                return;
            }
            for i in start..big_n {
                cur.push(i);
                go(i + 1, big_n, n, cur, out);
                cur.pop();
            }
        }
        let mut out = vec![];
        go(0, big_n, n, &mut vec![], &mut out);
        out
    }

    /// Brute force: the mean over all n-subsets of the gold of the subset's proxy-best, ties
    /// among the subset's best broken uniformly (their mean gold).
    fn brute(proxy: &[f64], gold: &[f64], n: usize) -> f64 {
        let all = subsets(proxy.len(), n);
        let total: f64 = all
            .iter()
            .map(|s| {
                let best = s
                    .iter()
                    .map(|&i| proxy[i])
                    .fold(f64::NEG_INFINITY, f64::max);
                let top: Vec<f64> = s
                    .iter()
                    .filter(|&&i| proxy[i] == best)
                    .map(|&i| gold[i])
                    .collect();
                top.iter().sum::<f64>() / top.len() as f64
            })
            .sum();
        total / all.len() as f64
    }

    const PROXY: [f64; 7] = [0.3, -1.2, 2.5, 0.9, 1.7, -0.4, 0.1];
    const GOLD: [f64; 7] = [1.0, 0.2, -0.5, 2.0, 1.1, 0.0, 0.7];

    #[test]
    fn matches_brute_force_on_seven_samples() {
        for n in 1..=7 {
            let e = best_of_n_gold(&PROXY, &GOLD, n).unwrap();
            let b = brute(&PROXY, &GOLD, n);
            assert!((e - b).abs() < 1e-12, "n={n}: {e} vs {b}");
        }
    }

    // n = 1: the mean of the gold, (1 + 0.2 - 0.5 + 2 + 1.1 + 0 + 0.7)/7 = 4.5/7 = 0.642857.
    // n = N: the gold of the proxy argmax (proxy 2.5 → gold -0.5).
    // n = 2 by hand on N = 3, proxy [1, 2, 3], gold [a, b, c] = [10, 20, 40]: weights
    // C(i-1,1)/C(3,2) = [0, 1/3, 2/3] → 20/3 + 80/3 = 33.333333.
    #[test]
    fn golden_ends_and_small_case() {
        assert!((best_of_n_gold(&PROXY, &GOLD, 1).unwrap() - 4.5 / 7.0).abs() < 1e-12);
        assert_eq!(best_of_n_gold(&PROXY, &GOLD, 7).unwrap(), -0.5);
        let e = best_of_n_gold(&[1.0, 2.0, 3.0], &[10.0, 20.0, 40.0], 2).unwrap();
        assert!((e - 100.0 / 3.0).abs() < 1e-12);
        // KL(n) = ln n - (n-1)/n: KL(1) = 0, KL(4) = 1.386294 - 0.75 = 0.636294.
        assert_eq!(bon_kl(1), 0.0);
        assert!((bon_kl(4) - 0.636294).abs() < 1e-6);
    }

    #[test]
    fn ties_are_broken_at_random() {
        let proxy = [1.0, 2.0, 2.0, 0.5, 2.0, 1.0, 3.0];
        for n in 1..=7 {
            let e = best_of_n_gold(&proxy, &GOLD, n).unwrap();
            let b = brute(&proxy, &GOLD, n);
            assert!((e - b).abs() < 1e-12, "n={n}: {e} vs {b}");
        }
        // All tied: every n gives the mean.
        let flat = [0.0; 7];
        assert!((best_of_n_gold(&flat, &GOLD, 5).unwrap() - 4.5 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn weights_are_stable_for_large_n_and_bad_input_errors() {
        let w = bon_weights(5000, 64).unwrap();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(w.iter().all(|x| x.is_finite() && *x >= 0.0));
        assert!((w[4999] - 64.0 / 5000.0).abs() < 1e-15);
        assert!(
            best_of_n_gold(&PROXY, &GOLD, 0)
                .unwrap_err()
                .to_string()
                .contains("`n`")
        );
        assert!(best_of_n_gold(&PROXY, &GOLD, 8).is_err());
        assert!(
            best_of_n_gold(&[], &[], 1)
                .unwrap_err()
                .to_string()
                .contains("`proxy`")
        );
        assert!(
            best_of_n_gold(&[1.0], &[1.0, 2.0], 1)
                .unwrap_err()
                .to_string()
                .contains("`gold`")
        );
        assert!(best_of_n_gold(&[f64::NAN], &[1.0], 1).is_err());
        let c = best_of_n_curve(&PROXY, &GOLD, &[1, 7]).unwrap();
        assert_eq!((c[1].proxy, c[1].gold, c[1].kl), (2.5, -0.5, bon_kl(7)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn invariants(xs in prop::collection::vec((-3i32..4, -5.0f64..5.0), 1..8)) {
            let proxy: Vec<f64> = xs.iter().map(|x| x.0 as f64).collect();
            let gold: Vec<f64> = xs.iter().map(|x| x.1).collect();
            let big_n = xs.len();
            let (lo, hi) = gold.iter().fold((f64::MAX, f64::MIN), |(l, h), &g| (l.min(g), h.max(g)));
            let mut prev = f64::NEG_INFINITY;
            for n in 1..=big_n {
                let w = bon_weights(big_n, n).unwrap();
                prop_assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                let e = best_of_n_gold(&proxy, &gold, n).unwrap();
                prop_assert!((e - brute(&proxy, &gold, n)).abs() < 1e-9);
                prop_assert!(e >= lo - 1e-12 && e <= hi + 1e-12);
                // Selecting on the gold itself can only help as n grows.
                let self_sel = best_of_n_gold(&gold, &gold, n).unwrap();
                prop_assert!(self_sel >= prev - 1e-12);
                prev = self_sel;
                prop_assert!(bon_kl(n) >= 0.0);
            }
        }
    }
}
