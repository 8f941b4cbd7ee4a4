//! Masked reductions over `[batch, time]` tensors.
//!
//! A mask is a float tensor of the same shape holding 1.0 where a position counts (a response
//! token) and 0.0 where it does not (prompt or padding). Float masks keep every op
//! differentiable with respect to the values.

use burn::tensor::Tensor;

/// `Σ_{b,t} x·m`, as a one-element tensor.
pub fn masked_sum(values: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    (values * mask).sum()
}

/// Per-row `Σ_t x·m`, shape `[batch]`.
pub fn masked_sum_rows(values: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    (values * mask).sum_dim(1).squeeze_dim(1)
}

/// `Σ x·m / Σ m`, as a one-element tensor. An all-zero mask gives 0, not NaN.
pub fn masked_mean(values: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let n = mask.clone().sum().clamp_min(1e-8);
    masked_sum(values, mask) / n
}

/// Per-row `Σ_t x·m / Σ_t m`, shape `[batch]`; rows with an empty mask give 0.
pub fn masked_mean_rows(values: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let n = mask.clone().sum_dim(1).squeeze_dim(1).clamp_min(1e-8);
    masked_sum_rows(values, mask) / n
}

/// Masked variance over all positions: `Σ m(x-μ)² / Σ m`, times `n/(n-1)` (Bessel's
/// correction) when `unbiased`, where `n = Σ m`. With `n ≤ 1` the unbiased form returns the
/// biased one (there is nothing to correct).
pub fn masked_var(values: Tensor<2>, mask: Tensor<2>, unbiased: bool) -> Tensor<1> {
    let mean = masked_mean(values.clone(), mask.clone());
    let centered = values - mean.unsqueeze::<2>();
    let var = masked_mean(centered.square(), mask.clone());
    if unbiased {
        let n = mask.sum();
        let factor = (n.clone() / (n - 1.0).clamp_min(1.0)).clamp_min(1.0);
        var * factor
    } else {
        var
    }
}

/// Masked whitening: `(x - μ) / sqrt(σ² + 1e-8)` with μ and the unbiased σ² over masked
/// positions; when `shift_mean` is false the mean is added back (scale only, as for reward
/// whitening). Positions outside the mask are set to 0.
pub fn masked_whiten(values: Tensor<2>, mask: Tensor<2>, shift_mean: bool) -> Tensor<2> {
    let mean = masked_mean(values.clone(), mask.clone()).unsqueeze::<2>();
    let var = masked_var(values.clone(), mask.clone(), true).unsqueeze::<2>();
    let mut whitened = (values - mean.clone()) / (var + 1e-8).sqrt();
    if !shift_mean {
        whitened = whitened + mean;
    }
    whitened * mask
}

/// [`masked_whiten`] of host rows whose mean and variance run over every data-parallel rank's
/// rows (`crate::parallel`): each rank whitens its own rows with the statistics of the whole
/// batch. Sums in `f64`; in one process it agrees with [`masked_whiten`] to rounding.
pub fn masked_whiten_over_ranks(
    values: &[Vec<f32>],
    mask: &[Vec<f32>],
    shift_mean: bool,
) -> Vec<Vec<f32>> {
    use crate::parallel::sum;
    let cells = || values.iter().zip(mask).flat_map(|(v, m)| v.iter().zip(m));
    let n = sum(cells().map(|(_, &m)| m as f64).sum());
    let mean = sum(cells().map(|(&x, &m)| (x * m) as f64).sum()) / n.max(1e-8);
    let sq = sum(cells()
        .map(|(&x, &m)| m as f64 * (x as f64 - mean).powi(2))
        .sum());
    // Unbiased, as masked_var: the biased variance times n/(n−1), the biased one for n ≤ 1.
    let var = sq / n.max(1e-8) * (n / (n - 1.0).max(1.0)).max(1.0);
    let scale = (var + 1e-8).sqrt();
    values
        .iter()
        .zip(mask)
        .map(|(v, m)| {
            v.iter()
                .zip(m)
                .map(|(&x, &m)| {
                    let mut w = (x as f64 - mean) / scale;
                    if !shift_mean {
                        w += mean;
                    }
                    (w * m as f64) as f32
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_backend;
    use crate::tensor_io::{floats, scalar, to_f32};
    use proptest::prelude::*;

    fn dev() -> burn::tensor::Device {
        test_backend().device().unwrap()
    }

    // Golden values by hand. x = [[1,2,3],[4,5,6]], m = [[1,1,0],[0,1,1]]:
    // masked entries 1,2,5,6 → sum 14, mean 3.5,
    // squared deviations 6.25, 2.25, 2.25, 6.25 → Σ = 17, biased var 17/4 = 4.25,
    // unbiased 17/3 = 5.6667. Row sums [3, 11], row means [1.5, 5.5].
    #[test]
    fn golden_masked_reductions() {
        let d = dev();
        let x = floats(vec![1., 2., 3., 4., 5., 6.], [2, 3], &d);
        let m = floats(vec![1., 1., 0., 0., 1., 1.], [2, 3], &d);
        assert!((scalar(masked_sum(x.clone(), m.clone())) - 14.0).abs() < 1e-5);
        assert!((scalar(masked_mean(x.clone(), m.clone())) - 3.5).abs() < 1e-5);
        assert!((scalar(masked_var(x.clone(), m.clone(), false)) - 4.25).abs() < 1e-5);
        assert!((scalar(masked_var(x.clone(), m.clone(), true)) - 17.0 / 3.0).abs() < 1e-5);
        assert_eq!(
            to_f32(masked_sum_rows(x.clone(), m.clone())),
            vec![3.0, 11.0]
        );
        assert_eq!(
            to_f32(masked_mean_rows(x.clone(), m.clone())),
            vec![1.5, 5.5]
        );
        // whiten: (x - 3.5)/sqrt(17/3) for 1,2,5,6 → -1.0502, -0.6301, 0.6301, 1.0502.
        let w = to_f32(masked_whiten(x, m, true));
        let s = (17.0f32 / 3.0 + 1e-8).sqrt();
        let want = [-2.5 / s, -1.5 / s, 0.0, 0.0, 1.5 / s, 2.5 / s];
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{w:?}");
        }
    }

    #[test]
    fn empty_mask_gives_zero_not_nan() {
        let d = dev();
        let x = floats(vec![1., 2.], [1, 2], &d);
        let m = floats(vec![0., 0.], [1, 2], &d);
        assert_eq!(scalar(masked_mean(x.clone(), m.clone())), 0.0);
        assert_eq!(to_f32(masked_mean_rows(x, m)), vec![0.0]);
    }

    fn case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<bool>)> {
        (1usize..5, 1usize..7).prop_flat_map(|(b, t)| {
            (
                Just(b),
                Just(t),
                prop::collection::vec(-5.0f32..5.0, b * t),
                prop::collection::vec(any::<bool>(), b * t),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn matches_naive_loops((b, t, xs, ms) in case()) {
            let d = dev();
            let mf: Vec<f32> = ms.iter().map(|&m| m as u8 as f32).collect();
            let x = floats(xs.clone(), [b, t], &d);
            let m = floats(mf.clone(), [b, t], &d);
            let sel: Vec<f64> = xs.iter().zip(&ms).filter(|(_, m)| **m).map(|(x, _)| *x as f64).collect();
            let n = sel.len() as f64;
            let sum: f64 = sel.iter().sum();
            let mean = if n > 0.0 { sum / n } else { 0.0 };
            let var_b = if n > 0.0 { sel.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n } else { 0.0 };
            let var_u = if n > 1.0 { var_b * n / (n - 1.0) } else { var_b };
            prop_assert!((scalar(masked_sum(x.clone(), m.clone())) - sum).abs() < 1e-3);
            prop_assert!((scalar(masked_mean(x.clone(), m.clone())) - mean).abs() < 1e-4);
            prop_assert!((scalar(masked_var(x.clone(), m.clone(), false)) - var_b).abs() < 1e-3 * (1.0 + var_b));
            prop_assert!((scalar(masked_var(x.clone(), m.clone(), true)) - var_u).abs() < 1e-3 * (1.0 + var_u));
            let rows = to_f32(masked_mean_rows(x.clone(), m.clone()));
            for r in 0..b {
                let v: Vec<f64> = (0..t).filter(|&j| ms[r * t + j]).map(|j| xs[r * t + j] as f64).collect();
                let want = if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
                prop_assert!((rows[r] as f64 - want).abs() < 1e-4);
            }
            let w = to_f32(masked_whiten(x, m, true));
            for i in 0..b * t {
                let want = if ms[i] { (xs[i] as f64 - mean) / (var_u + 1e-8).sqrt() } else { 0.0 };
                prop_assert!((w[i] as f64 - want).abs() < 1e-2 * (1.0 + want.abs()), "{} vs {}", w[i], want);
            }
        }
    }

    proptest! {
        /// The host-side, rank-reduced whitening agrees with the tensor one in one process.
        #[test]
        fn whitening_over_ranks_matches_the_tensor_form(
            rows in 1usize..5,
            cols in 1usize..7,
            seed in 0u64..1000,
            shift in proptest::bool::ANY,
        ) {
            let mut rng = crate::SeededRng::new(seed);
            let values: Vec<Vec<f32>> = (0..rows)
                .map(|_| (0..cols).map(|_| rng.uniform() as f32 * 4.0 - 2.0).collect())
                .collect();
            let mask: Vec<Vec<f32>> = (0..rows)
                .map(|_| (0..cols).map(|_| if rng.uniform() < 0.7 { 1.0 } else { 0.0 }).collect())
                .collect();
            let host = masked_whiten_over_ranks(&values, &mask, shift);
            let d = dev();
            let t = masked_whiten(
                floats(values.concat(), [rows, cols], &d),
                floats(mask.concat(), [rows, cols], &d),
                shift,
            );
            let diff = crate::tensor_io::max_abs_diff(&host.concat(), &to_f32(t));
            prop_assert!(diff < 1e-4, "max |Δ| {}", diff);
        }
    }
}
