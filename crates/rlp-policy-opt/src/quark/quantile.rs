//! Quark's quantisation (Lu et al., NeurIPS 2022): the data pool, sorted by reward, is split into
//! `K` quantiles of (nearly) equal size, quantile 0 holding the lowest rewards and `K−1` the
//! highest; each sample is then trained on with its quantile's reward token `r_k`.
//!
//! The rule, deterministic for ties and remainders:
//! 1. rank the `n` samples by reward, ascending, **ties broken by pool order** (the sample added
//!    earlier ranks lower; a stable sort);
//! 2. the sample of rank `i` (0-based) goes to quantile `k = ⌊i·K/n⌋`.
//!
//! So quantile `k` holds ranks `⌈k·n/K⌉ … ⌈(k+1)·n/K⌉ − 1`: every quantile has `⌊n/K⌋` or
//! `⌈n/K⌉` samples (sizes differ by at most one, the larger ones spread evenly rather than
//! piled at one end), quantiles are monotone in reward (`R_i < R_j ⇒ k_i ≤ k_j`), and equal
//! rewards may straddle a boundary (ties are split by pool order, not kept together, so that the
//! sizes stay balanced). `n < K` is an error: some quantile would be empty.

use serde::{Deserialize, Serialize};

use crate::error::{PolicyError, Result};

/// The size and reward range of each of Quark's `K` reward quantiles (Lu et al., NeurIPS 2022;
/// the quantile boundaries the stats report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileBounds {
    /// Samples per quantile, `k = 0 … K−1`.
    pub sizes: Vec<usize>,
    /// The lowest reward in each quantile.
    pub lower: Vec<f32>,
    /// The highest reward in each quantile.
    pub upper: Vec<f32>,
}

/// A partition of a pool into Quark's `K` reward quantiles (Lu et al., NeurIPS 2022; module docs
/// for the rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// The quantile `k ∈ 0 … K−1` of each sample, in pool order.
    pub assignment: Vec<usize>,
    /// Sizes and reward ranges.
    pub bounds: QuantileBounds,
}

impl Quantiles {
    /// `K`.
    pub fn num_quantiles(&self) -> usize {
        self.bounds.sizes.len()
    }
}

/// Quark's quantisation (Lu et al., NeurIPS 2022): splits `rewards` (one per pool sample, in
/// pool order) into `k` quantiles, rank `i` of `n` to quantile `⌊i·k/n⌋` (module docs).
/// Errors: `k = 0` (names `num_quantiles`), fewer samples than quantiles (names `pool`), or a
/// non-finite reward (names `rewards`).
pub fn quantize(rewards: &[f32], k: usize) -> Result<Quantiles> {
    if k == 0 {
        return Err(PolicyError::invalid("num_quantiles", "must be at least 1"));
    }
    let n = rewards.len();
    if n < k {
        return Err(PolicyError::invalid(
            "pool",
            format!("{n} samples cannot fill {k} quantiles (every quantile needs one)"),
        ));
    }
    if let Some(i) = rewards.iter().position(|r| !r.is_finite()) {
        return Err(PolicyError::invalid(
            "rewards",
            format!("sample {i} has the non-finite reward {}", rewards[i]),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: equal rewards keep pool order.
    order.sort_by(|&a, &b| rewards[a].total_cmp(&rewards[b]));
    let mut assignment = vec![0; n];
    let mut bounds = QuantileBounds {
        sizes: vec![0; k],
        lower: vec![f32::INFINITY; k],
        upper: vec![f32::NEG_INFINITY; k],
    };
    for (rank, &i) in order.iter().enumerate() {
        let q = rank * k / n;
        assignment[i] = q;
        bounds.sizes[q] += 1;
        bounds.lower[q] = bounds.lower[q].min(rewards[i]);
        bounds.upper[q] = bounds.upper[q].max(rewards[i]);
    }
    Ok(Quantiles { assignment, bounds })
}
