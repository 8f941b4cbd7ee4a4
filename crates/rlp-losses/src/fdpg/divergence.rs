//! The f-divergences f-DPG can minimise, `D_f(π‖p) = E_p[f(π/p)]`, through the derivative `f′`
//! of their generator evaluated at the ratio `t = π(x)/p(x)` (Go et al., ICML 2023, the f-DPG
//! gradient `∇_θ D_f(π_θ‖p) = E_{x∼π_θ}[f′(π_θ(x)/p(x)) ∇_θ log π_θ(x)]`).
//!
//! | divergence | `f(t)` | `f′(t)` | from `s = log t` | `t → 0` | `t → ∞` |
//! |---|---|---|---|---|---|
//! | forward KL, `KL(p‖π)` | `−log t` | `−1/t` | `−exp(−s)` | `−∞` | `0` |
//! | reverse KL, `KL(π‖p)` | `t log t` | `log t + 1` | `s + 1` | `−∞` | `+∞` |
//! | Jensen–Shannon (×2) | `t log(2t/(1+t)) + log(2/(1+t))` | `log(2t/(1+t))` | `log 2 − softplus(−s)` | `−∞` | `log 2` |
//! | total variation | `½|t − 1|` | `½ sign(log t)` | `½ sign(s)` | `−½` | `½` |
//!
//! `t = 0` happens when π gives no mass where `P > 0`, `t = ∞` when `P(x) = 0` (a sample that
//! violates a pointwise constraint). [`Divergence::f_prime_log`] returns the exact limits
//! (infinite for forward KL at `t = 0` and reverse KL at both ends, never NaN); the trainer
//! goes through [`pseudo_reward`], which clips `log t` to `[−c, c]` first (`c` =
//! `log_ratio_clip`, 10 by default) so every pseudo-reward is finite: at `t = ∞` forward KL
//! gives `−f′ = e^{−c}` (≈ 0), JS `−(log 2 − softplus(−c))` (≈ −log 2), TV `−½`, reverse KL
//! `−(c + 1)`; at `t = 0` forward KL gives `e^{c}`, JS `softplus(c) − log 2` (≈ c − log 2), TV
//! `½`, reverse KL `c − 1`. TV's `sign(0)` is taken as 0 (the subgradient at `t = 1`).

use serde::{Deserialize, Serialize};

/// `log(1 + e^x)`, stable for every `x` (`+∞ → +∞`, `−∞ → 0`, never NaN for a non-NaN input).
pub fn softplus(x: f64) -> f64 {
    if x == f64::INFINITY {
        return x;
    }
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Which f-divergence `D_f(π‖p)` f-DPG minimises (Go et al., ICML 2023; module docs for `f`,
/// `f′` and their limits). Jensen–Shannon is the default: the paper finds it often beats forward
/// KL by a wide margin, while reverse KL aligns best but loses diversity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Divergence {
    /// Forward KL, `KL(p‖π)` (`f(t) = −log t`): DPG's objective, mass-covering.
    ForwardKl,
    /// Reverse KL, `KL(π‖p)` (`f(t) = t log t`): RLHF's KL-regularised objective, mode-seeking.
    ReverseKl,
    /// Jensen–Shannon (`f(t) = t log(2t/(1+t)) + log(2/(1+t))`, twice the usual JS), bounded.
    #[default]
    JensenShannon,
    /// Total variation, `½ Σ|π − p|` (`f(t) = ½|t − 1|`).
    TotalVariation,
}

impl Divergence {
    /// Every divergence, in declaration order.
    pub const ALL: [Divergence; 4] = [
        Divergence::ForwardKl,
        Divergence::ReverseKl,
        Divergence::JensenShannon,
        Divergence::TotalVariation,
    ];

    /// The generator `f(t)` for `t ≥ 0` (convex, `f(1) = 0`), so that
    /// `D_f(π‖p) = Σ_x p(x) f(π(x)/p(x))`.
    pub fn f(self, t: f64) -> f64 {
        match self {
            Self::ForwardKl => -t.ln(),
            Self::ReverseKl if t == 0.0 => 0.0,
            Self::ReverseKl => t * t.ln(),
            Self::JensenShannon if t == 0.0 => std::f64::consts::LN_2,
            Self::JensenShannon => t * (2.0 * t / (1.0 + t)).ln() + (2.0 / (1.0 + t)).ln(),
            Self::TotalVariation => 0.5 * (t - 1.0).abs(),
        }
    }

    /// `f′(t)` for `t ∈ [0, ∞]`: [`Divergence::f_prime_log`] at `log t` (`t = 0` gives the
    /// `log t = −∞` limit).
    pub fn f_prime(self, t: f64) -> f64 {
        self.f_prime_log(t.ln())
    }

    /// `f′(t)` computed from `s = log t` (stable for any `s`, including `±∞`; module docs for
    /// the limits): forward KL `−exp(−s)`, reverse KL `s + 1`, JS `log 2 − softplus(−s)`, TV
    /// `½ sign(s)` with `sign(0) = 0`.
    pub fn f_prime_log(self, log_t: f64) -> f64 {
        match self {
            Self::ForwardKl => -(-log_t).exp(),
            Self::ReverseKl => log_t + 1.0,
            Self::JensenShannon => std::f64::consts::LN_2 - softplus(-log_t),
            Self::TotalVariation if log_t > 0.0 => 0.5,
            Self::TotalVariation if log_t < 0.0 => -0.5,
            Self::TotalVariation => 0.0,
        }
    }

    /// A short name for logs (`forward-kl`, `reverse-kl`, `jensen-shannon`, `total-variation`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ForwardKl => "forward-kl",
            Self::ReverseKl => "reverse-kl",
            Self::JensenShannon => "jensen-shannon",
            Self::TotalVariation => "total-variation",
        }
    }
}

/// f-DPG's pseudo-reward `R(x) = −f′(t)` with `log t` clipped to `[−clip, clip]` first, so it is
/// finite for every `log t` in `[−∞, +∞]` (module docs for the values at the ends). `clip` must be
/// positive (`FdpgConfig::log_ratio_clip`; `f64::INFINITY` turns clipping off).
pub fn pseudo_reward(divergence: Divergence, log_t: f64, clip: f64) -> f64 {
    -divergence.f_prime_log(log_t.clamp(-clip, clip))
}

/// `log t = log π(x) − log p(x) = log π(x) − log P(x) + log Z`, the log-ratio the pseudo-reward
/// reads. `log P = −∞` (a sample outside the target's support) gives `+∞` whatever `Z`; a
/// sample inside it with `log Z = −∞` (no mass estimated yet) gives `−∞`; never NaN for finite
/// `log π`.
pub fn log_ratio(log_pi: f64, log_target: f64, log_z: f64) -> f64 {
    if log_target == f64::NEG_INFINITY {
        f64::INFINITY
    } else if log_z == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else {
        log_pi - log_target + log_z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences of `f` match `f′` at a few points (so the table's pairs agree).
    #[test]
    fn f_prime_is_the_derivative_of_f() {
        for d in Divergence::ALL {
            for t in [0.3, 0.8, 1.7, 4.0] {
                let h = 1e-6;
                let numeric = (d.f(t + h) - d.f(t - h)) / (2.0 * h);
                assert!((numeric - d.f_prime(t)).abs() < 1e-6, "{d:?} at {t}");
            }
            assert!(d.f(1.0).abs() < 1e-12, "{d:?}: f(1) = {}", d.f(1.0));
        }
    }

    #[test]
    fn softplus_is_stable() {
        assert_eq!(softplus(f64::NEG_INFINITY), 0.0);
        assert_eq!(softplus(f64::INFINITY), f64::INFINITY);
        assert!((softplus(0.0) - std::f64::consts::LN_2).abs() < 1e-15);
        assert!((softplus(800.0) - 800.0).abs() < 1e-12);
    }
}
