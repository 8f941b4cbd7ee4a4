//! The baseline subtracted from f-DPG's pseudo-rewards (Go et al., ICML 2023: a moving average
//! of recent pseudo-rewards). Any baseline that does not depend on the sample it is subtracted
//! from leaves the gradient unbiased, since `E_q[(π/q)·b·∇log π] = b·E_π[∇log π] = 0`; it only
//! lowers the variance.
//!
//! Here: the mean of the last `window` pseudo-rewards seen *before* the current batch (so no
//! sample is its own baseline); on the very first batch, when nothing has been seen, the batch's
//! own mean. `window = 0` turns the baseline off (always 0).

use std::collections::VecDeque;

/// A moving-window mean of pseudo-rewards (module docs). It serialises exactly (its values as
/// bit patterns), for a resumable trainer state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MovingBaseline {
    window: usize,
    #[serde(with = "super::state::exact_f64_deque")]
    recent: VecDeque<f64>,
}

impl MovingBaseline {
    /// A baseline over the last `window` pseudo-rewards (0: off).
    pub fn new(window: usize) -> Self {
        Self {
            window,
            recent: VecDeque::with_capacity(window),
        }
    }

    /// The mean of the window, `None` while it is empty (and `Some(0)` when the baseline is off).
    pub fn value(&self) -> Option<f64> {
        if self.window == 0 {
            return Some(0.0);
        }
        if self.recent.is_empty() {
            return None;
        }
        Some(self.recent.iter().sum::<f64>() / self.recent.len() as f64)
    }

    /// The baseline for a new batch `rewards` (the window's mean, else the batch's own mean),
    /// then pushes the batch into the window.
    pub fn next(&mut self, rewards: &[f64]) -> f64 {
        let b = self
            .value()
            .unwrap_or_else(|| rewards.iter().sum::<f64>() / rewards.len().max(1) as f64);
        if self.window > 0 {
            for &r in rewards {
                if self.recent.len() == self.window {
                    self.recent.pop_front();
                }
                self.recent.push_back(r);
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Window 3: the first batch [1, 2] is its own baseline 1.5; the second batch [3, 4] gets
    /// the mean of [1, 2] = 1.5; the window then holds [2, 3, 4], mean 3.
    #[test]
    fn golden_window() {
        let mut b = MovingBaseline::new(3);
        assert_eq!(b.value(), None);
        assert_eq!(b.next(&[1.0, 2.0]), 1.5);
        assert_eq!(b.next(&[3.0, 4.0]), 1.5);
        assert_eq!(b.value(), Some(3.0));
        let mut off = MovingBaseline::new(0);
        assert_eq!(off.next(&[5.0]), 0.0);
    }
}
