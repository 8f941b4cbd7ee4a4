//! Quark's data pool (Lu et al., NeurIPS 2022): every (prompt `x`, response `y`, reward `R`)
//! sampled so far — first from the initial policy π₀, then from the policy conditioned on the
//! best reward token — kept for the whole run and re-quantised ([`quantize`]) after each
//! exploration phase, so that a sample's quantile (and so its reward token) can fall as better
//! samples arrive.

use serde::{Deserialize, Serialize};

use super::quantile::{Quantiles, quantize};
use crate::error::Result;

/// One entry `(x, y, R)` of Quark's data pool (Lu et al., NeurIPS 2022).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolSample {
    /// The prompt text `x`.
    pub prompt: String,
    /// `x` as token ids (without a reward token).
    pub prompt_ids: Vec<u32>,
    /// The decoded response `y` (what the reward scored).
    pub response: String,
    /// `y` as token ids, with its stop token when generation produced one.
    pub response_ids: Vec<u32>,
    /// The reward `R(x, y)`.
    pub reward: f32,
    /// The exploration phase that produced it (0: the initial policy π₀).
    pub phase: usize,
}

/// Quark's data pool (Lu et al., NeurIPS 2022) and its current partition into `K` reward
/// quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPool {
    samples: Vec<PoolSample>,
    num_quantiles: usize,
    quantiles: Option<Quantiles>,
}

impl DataPool {
    /// An empty pool to be split into `num_quantiles` quantiles (`K`).
    pub fn new(num_quantiles: usize) -> Self {
        Self {
            samples: Vec::new(),
            num_quantiles,
            quantiles: None,
        }
    }

    /// Appends samples; the partition is stale (`None`) until [`Self::quantize`].
    pub fn extend(&mut self, samples: impl IntoIterator<Item = PoolSample>) {
        self.samples.extend(samples);
        self.quantiles = None;
    }

    /// Re-quantises the whole pool ([`quantize`]); errors when it has fewer than `K` samples.
    pub fn quantize(&mut self) -> Result<&Quantiles> {
        let q = quantize(&self.rewards(), self.num_quantiles)?;
        Ok(self.quantiles.insert(q))
    }

    /// The partition of the last [`Self::quantize`], `None` if samples were added since.
    pub fn quantiles(&self) -> Option<&Quantiles> {
        self.quantiles.as_ref()
    }

    /// The quantile of sample `i` under the current partition.
    pub fn quantile_of(&self, i: usize) -> Option<usize> {
        self.quantiles.as_ref()?.assignment.get(i).copied()
    }

    /// All samples, in the order they were added.
    pub fn samples(&self) -> &[PoolSample] {
        &self.samples
    }

    /// The rewards, in pool order.
    pub fn rewards(&self) -> Vec<f32> {
        self.samples.iter().map(|s| s.reward).collect()
    }

    /// Mean reward of the pool (0 when empty).
    pub fn mean_reward(&self) -> f64 {
        let n = self.samples.len().max(1) as f64;
        self.samples.iter().map(|s| s.reward as f64).sum::<f64>() / n
    }

    /// `K`.
    pub fn num_quantiles(&self) -> usize {
        self.num_quantiles
    }

    /// Samples in the pool.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// No samples yet.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}
