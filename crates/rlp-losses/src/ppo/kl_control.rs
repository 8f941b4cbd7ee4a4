//! KL controllers for the penalty coefficient β (`docs/algorithms.md`): fixed, or adaptive
//! (Ziegler et al. 2019): `e = clip(KL/target − 1, ±0.2)`, `β ← β·(1 + e·n_steps/horizon)`.

use serde::{Deserialize, Serialize};

/// How β evolves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KlControl {
    /// β stays at `beta` (TRL today uses 0.05; AlpacaFarm 0.0067 / 0.02).
    Fixed {
        /// The coefficient.
        beta: f64,
    },
    /// Ziegler et al.'s proportional controller towards a target sequence KL.
    Adaptive {
        /// β at the start (0.2).
        init: f64,
        /// Target sequence KL in nats (6).
        target: f64,
        /// Horizon in samples (10,000).
        horizon: f64,
    },
}

impl Default for KlControl {
    fn default() -> Self {
        Self::Fixed { beta: 0.05 }
    }
}

/// The controller's state: the current β.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KlController {
    /// The rule.
    pub control: KlControl,
    /// The current coefficient.
    pub beta: f64,
}

impl KlController {
    /// A controller at its initial β.
    pub fn new(control: KlControl) -> Self {
        let beta = match control {
            KlControl::Fixed { beta } => beta,
            KlControl::Adaptive { init, .. } => init,
        };
        Self { control, beta }
    }

    /// Updates β after an iteration whose mean sequence KL was `kl` over `n_steps` samples.
    pub fn update(&mut self, kl: f64, n_steps: usize) {
        if let KlControl::Adaptive {
            target, horizon, ..
        } = self.control
        {
            let e = (kl / target - 1.0).clamp(-0.2, 0.2);
            self.beta *= 1.0 + e * n_steps as f64 / horizon;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// β = 0.2, target 6, horizon 10,000: KL 9 over 256 samples gives e = clip(9/6 − 1) = 0.2
    /// (clipped from 0.5), β = 0.2·(1 + 0.2·256/10⁴) = 0.2·1.00512 = 0.201024; then KL 5.4
    /// gives e = −0.1, β = 0.201024·(1 − 0.1·256/10⁴) = 0.201024·0.99744 = 0.200509…
    #[test]
    fn adaptive_golden() {
        let mut c = KlController::new(KlControl::Adaptive {
            init: 0.2,
            target: 6.0,
            horizon: 10_000.0,
        });
        c.update(9.0, 256);
        assert!((c.beta - 0.201024).abs() < 1e-12, "{}", c.beta);
        c.update(5.4, 256);
        assert!((c.beta - 0.201024 * 0.99744).abs() < 1e-12, "{}", c.beta);
    }

    #[test]
    fn fixed_never_moves() {
        let mut c = KlController::new(KlControl::Fixed { beta: 0.05 });
        c.update(100.0, 1000);
        assert_eq!(c.beta, 0.05);
    }
}
