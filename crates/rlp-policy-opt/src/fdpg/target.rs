//! The target distribution `p(x) = P(x)/Z` f-DPG moves the policy towards, as the unnormalised
//! `P` in log space (Go et al., ICML 2023, the target EBMs):
//! - RLHF-style: `P(x) = a(x)·exp(r(x)/β)`, `log P = log a + r/β` — the optimum of the
//!   KL-regularised objective `E_π[r] − β·KL(π‖a)`;
//! - pointwise constraint: `P(x) = a(x)·b(x)` with `b(x) ∈ {0, 1}`, `log P = log a` where
//!   `b = 1` and `−∞` where `b = 0` — `a` restricted to the texts that satisfy `b`.
//!
//! `a` is the frozen initial model; `r` and `b` come from any [`RewardFn`]: for a constraint,
//! a score above [`ACCEPT_THRESHOLD`] (0.5) means `b = 1`, so a 0/1 predicate wrapped in an
//! [`rlp_core::FnReward`] works as is.

use rlp_core::RewardFn;

/// A constraint's score above this means `b(x) = 1`.
pub const ACCEPT_THRESHOLD: f32 = 0.5;

/// Whether a constraint score means `b(x) = 1` (`score > 0.5`; NaN is not accepted).
pub fn accepts(score: f32) -> bool {
    score > ACCEPT_THRESHOLD
}

/// What `P` multiplies the initial model `a` by (module docs).
pub enum Target {
    /// `P(x) = a(x)·exp(r(x)/β)` with `r` this reward and β `FdpgConfig::beta`.
    Rlhf(Box<dyn RewardFn>),
    /// `P(x) = a(x)·b(x)`, `b(x) = 1` iff this reward scores `x` above [`ACCEPT_THRESHOLD`].
    Pointwise(Box<dyn RewardFn>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rlhf(r) => write!(f, "Rlhf({})", r.name()),
            Self::Pointwise(b) => write!(f, "Pointwise({})", b.name()),
        }
    }
}

impl Target {
    /// The reward (RLHF) or constraint (pointwise) that scores samples.
    pub fn scorer(&self) -> &dyn RewardFn {
        match self {
            Self::Rlhf(r) | Self::Pointwise(r) => r.as_ref(),
        }
    }

    /// Whether this is a pointwise constraint (whose acceptance rate the trainer reports).
    pub fn is_pointwise(&self) -> bool {
        matches!(self, Self::Pointwise(_))
    }

    /// `log(P(x)/a(x))` for a sample scored `score`: `r/β` (RLHF) or `0` / `−∞` (pointwise,
    /// `b = 1` / `b = 0`).
    pub fn log_tilt(&self, score: f32, beta: f64) -> f64 {
        match self {
            Self::Rlhf(_) => score as f64 / beta,
            Self::Pointwise(_) if accepts(score) => 0.0,
            Self::Pointwise(_) => f64::NEG_INFINITY,
        }
    }

    /// `log P(x) = log a(x) + log(P(x)/a(x))` ([`Target::log_tilt`]).
    pub fn log_unnormalized(&self, log_a: f64, score: f32, beta: f64) -> f64 {
        let tilt = self.log_tilt(score, beta);
        if tilt == f64::NEG_INFINITY {
            tilt
        } else {
            log_a + tilt
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::FnReward;

    /// RLHF, β = 0.1: log P = −3 + 0.5/0.1 = 2; pointwise: a score of 1 keeps log a = −3, a
    /// score of 0 (or exactly 0.5) gives −∞.
    #[test]
    fn golden_log_targets() {
        let r = || Box::new(FnReward::new("r", |_: &str, _: &str| 0.0));
        assert_eq!(Target::Rlhf(r()).log_unnormalized(-3.0, 0.5, 0.1), 2.0);
        let b = Target::Pointwise(r());
        assert_eq!(b.log_unnormalized(-3.0, 1.0, 0.1), -3.0);
        assert_eq!(b.log_unnormalized(-3.0, 0.0, 0.1), f64::NEG_INFINITY);
        assert_eq!(b.log_unnormalized(-3.0, 0.5, 0.1), f64::NEG_INFINITY);
        assert!(b.is_pointwise() && !Target::Rlhf(r()).is_pointwise());
    }
}
