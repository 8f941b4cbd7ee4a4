//! GRPO's group-relative advantage (Shao et al. 2024, DeepSeekMath §4.1.2) and its variants.
//!
//! The `G` completions of one prompt form a group `g`, and every token of completion `i` gets
//! the same advantage
//!
//! `A_i = (r_i − mean_g r) / (s + 1e-4)`,
//!
//! where the scale `s` is chosen by [`Scale`]:
//! - [`Scale::Group`]: `std_g r`, the unbiased (`n − 1`) standard deviation of the group (GRPO
//!   as published);
//! - [`Scale::Batch`]: the unbiased standard deviation of every reward in the batch (TRL's
//!   `scale_rewards = "batch"`), which keeps the group mean as baseline but does not blow up a
//!   group whose rewards barely differ;
//! - [`Scale::None`]: no division (`A_i = r_i − mean_g r`), Dr. GRPO (Liu et al. 2025), which
//!   argues that dividing by `std_g` gives questions that are too easy or too hard more weight.
//!
//! A group whose rewards are all equal has `A_i = 0` under every scale, so it adds no policy
//! gradient; [`equal_reward_groups`] counts such groups (TRL logs the same share as
//! `frac_reward_zero_std`).

use serde::{Deserialize, Serialize};

/// The `1e-4` added to the scale so that an all-equal group divides `0` by a positive number.
pub const SCALE_EPSILON: f64 = 1e-4;

/// What GRPO divides the centred rewards by (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// The group's unbiased standard deviation (GRPO).
    #[default]
    Group,
    /// The batch's unbiased standard deviation.
    Batch,
    /// No scaling (Dr. GRPO).
    None,
}

/// Mean and unbiased standard deviation of `xs` (`0` for fewer than two values).
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n.max(1.0);
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The advantage of every completion, group by group: `rewards` holds consecutive groups of
/// `group_size` completions of the same prompt (so its length is a multiple of `group_size`,
/// which is at least 2; the caller checks).
pub fn group_advantages(rewards: &[f32], group_size: usize, scale: Scale) -> Vec<f32> {
    let all: Vec<f64> = rewards.iter().map(|&r| r as f64).collect();
    let (_, batch_std) = mean_std(&all);
    advantages_with(&all, group_size, scale, batch_std)
}

/// [`group_advantages`] with the batch's standard deviation given, for a batch whose groups
/// are split over data-parallel ranks ([`Scale::Batch`] then needs every rank's rewards).
pub fn group_advantages_given_batch_std(
    rewards: &[f32],
    group_size: usize,
    scale: Scale,
    batch_std: f64,
) -> Vec<f32> {
    let all: Vec<f64> = rewards.iter().map(|&r| r as f64).collect();
    advantages_with(&all, group_size, scale, batch_std)
}

fn advantages_with(all: &[f64], group_size: usize, scale: Scale, batch_std: f64) -> Vec<f32> {
    all.chunks(group_size)
        .flat_map(|g| {
            let (mean, group_std) = mean_std(g);
            let s = match scale {
                Scale::Group => group_std + SCALE_EPSILON,
                Scale::Batch => batch_std + SCALE_EPSILON,
                Scale::None => 1.0,
            };
            g.iter().map(move |r| ((r - mean) / s) as f32)
        })
        .collect()
}

/// The share of groups of `group_size` whose rewards are all equal (they contribute no
/// gradient).
pub fn equal_reward_groups(rewards: &[f32], group_size: usize) -> f64 {
    let groups = rewards.chunks(group_size);
    let n = groups.len().max(1) as f64;
    groups.filter(|g| g.iter().all(|&r| r == g[0])).count() as f64 / n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values, two groups of three, computed by hand and checked with numpy:
    ///
    /// ```python
    /// import numpy as np
    /// r = np.array([[1., 0., 0.], [2., 4., 6.]])
    /// m = r.mean(1, keepdims=True)                      # [1/3], [4]
    /// (r - m) / (r.std(1, ddof=1, keepdims=True) + 1e-4)  # group
    /// (r - m) / (r.std(ddof=1) + 1e-4)                    # batch
    /// r - m                                               # none
    /// ```
    ///
    /// - group 1: mean ⅓, std √(((⅔)² + 2·(⅓)²)/2) = √(1/3) = 0.577350;
    ///   A = (⅔, −⅓, −⅓)/0.577450 = (1.154501, −0.577250, −0.577250);
    /// - group 2: mean 4, std 2; A = (−2, 0, 2)/2.0001 = (−0.999950, 0, 0.999950);
    /// - batch: mean 13/6, Σ(r − 13/6)² = 28.8333…, std √(28.8333/5) = 2.401388;
    ///   group 1 → (⅔, −⅓, −⅓)/2.401488 = (0.277606, −0.138803, −0.138803),
    ///   group 2 → (−2, 0, 2)/2.401488 = (−0.832817, 0, 0.832817).
    #[test]
    fn golden_advantages() {
        let r = [1.0, 0.0, 0.0, 2.0, 4.0, 6.0];
        let close = |got: Vec<f32>, want: [f64; 6]| {
            for (g, w) in got.iter().zip(want) {
                assert!((*g as f64 - w).abs() < 1e-5, "{got:?} vs {want:?}");
            }
        };
        close(
            group_advantages(&r, 3, Scale::Group),
            [1.154501, -0.577250, -0.577250, -0.999950, 0.0, 0.999950],
        );
        close(
            group_advantages(&r, 3, Scale::Batch),
            [0.277606, -0.138803, -0.138803, -0.832817, 0.0, 0.832817],
        );
        close(
            group_advantages(&r, 3, Scale::None),
            [2.0 / 3.0, -1.0 / 3.0, -1.0 / 3.0, -2.0, 0.0, 2.0],
        );
    }

    #[test]
    fn equal_groups_get_zero_advantage_and_are_counted() {
        let r = [0.5, 0.5, 0.5, 0.0, 1.0, 1.0];
        for scale in [Scale::Group, Scale::Batch, Scale::None] {
            let a = group_advantages(&r, 3, scale);
            assert_eq!(&a[..3], &[0.0, 0.0, 0.0], "{scale:?}");
        }
        assert_eq!(equal_reward_groups(&r, 3), 0.5);
    }

    proptest::proptest! {
        /// Every group's advantages sum to zero (the group mean is the baseline) under every
        /// scale.
        #[test]
        fn advantages_are_centred_per_group(r in proptest::collection::vec(-5.0f32..5.0, 12), g in 2usize..6) {
            let rewards = &r[..12 - 12 % g];
            for scale in [Scale::Group, Scale::Batch, Scale::None] {
                for group in group_advantages(rewards, g, scale).chunks(g) {
                    let s: f32 = group.iter().sum();
                    proptest::prop_assert!(s.abs() < 1e-2, "{scale:?}: {group:?}");
                }
            }
        }
    }
}
