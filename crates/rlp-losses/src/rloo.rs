//! RLOO's leave-one-out baseline (Kool et al. 2019; Ahmadian et al. 2024): with `k` samples of
//! one prompt, each sample's baseline is the mean reward of the other `k − 1`,
//!
//! `A_i = r_i − (Σ_j r_j − r_i)/(k − 1)`,
//!
//! an unbiased REINFORCE baseline, since it does not depend on sample `i`. It equals
//! `k/(k − 1)·(r_i − mean r)`: the group-centred reward, slightly enlarged.

/// The advantage of every sample: `rewards` holds consecutive groups of `k` samples of the same
/// prompt (its length a multiple of `k`, which is at least 2; the caller checks).
pub fn leave_one_out_advantages(rewards: &[f32], k: usize) -> Vec<f32> {
    rewards
        .chunks(k)
        .flat_map(|g| {
            let sum: f64 = g.iter().map(|&r| r as f64).sum();
            let others = (g.len() - 1) as f64;
            g.iter()
                .map(move |&r| (r as f64 - (sum - r as f64) / others) as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values, computed by hand (numpy: `r - (r.sum(1, keepdims=True) - r) / (k - 1)`):
    /// - `k = 3`, r = (1, 0, 0): baselines (0, ½, ½), A = (1, −½, −½);
    ///   r = (2, 4, 6): baselines (5, 4, 3), A = (−3, 0, 3);
    /// - `k = 2`, r = (3, 1): A = (2, −2).
    #[test]
    fn golden_advantages() {
        assert_eq!(
            leave_one_out_advantages(&[1.0, 0.0, 0.0, 2.0, 4.0, 6.0], 3),
            vec![1.0, -0.5, -0.5, -3.0, 0.0, 3.0]
        );
        assert_eq!(leave_one_out_advantages(&[3.0, 1.0], 2), vec![2.0, -2.0]);
    }

    proptest::proptest! {
        /// `A_i = k/(k − 1)·(r_i − mean r)` for every group.
        #[test]
        fn equals_scaled_centred_reward(r in proptest::collection::vec(-5.0f32..5.0, 12), k in 2usize..5) {
            let n = 12 - 12 % k;
            let a = leave_one_out_advantages(&r[..n], k);
            for (g, ag) in r[..n].chunks(k).zip(a.chunks(k)) {
                let mean = g.iter().sum::<f32>() / k as f32;
                for (ri, ai) in g.iter().zip(ag) {
                    let want = k as f32 / (k as f32 - 1.0) * (ri - mean);
                    proptest::prop_assert!((ai - want).abs() < 1e-4);
                }
            }
        }
    }
}
