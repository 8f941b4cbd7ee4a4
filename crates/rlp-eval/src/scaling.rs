//! The functional forms of reward-model overoptimisation (Gao, Schulman, Hilton, "Scaling Laws
//! for Reward Model Overoptimization", ICML 2023; `docs/algorithms.md`, "Scaling laws
//! of overoptimisation") and their least-squares fits.
//!
//! With `d = sqrt(KL(π ‖ π_init))` and `R` the gold score relative to the initial policy
//! (`R(0) = 0`), Gao et al. fit
//!
//! - best-of-n (their eq. 1): `R_bon(d) = d (α_bon − β_bon d)`,
//! - reinforcement learning (their eq. 2): `R_RL(d) = d (α_RL − β_RL log d)`.
//!
//! Both are linear in `(α, β)` and have no intercept: `R = α·x₁ + β·x₂` with `x₁ = d` and
//! `x₂ = −d²` (best-of-n) or `x₂ = −d log d` (RL, taking `d log d → 0` at `d = 0`). The
//! least-squares `(α, β)` solve the 2×2 normal equations
//!
//! ```text
//! | Σx₁²   Σx₁x₂ | |α|   |Σx₁R|
//! | Σx₁x₂  Σx₂²  | |β| = |Σx₂R|
//! ```
//!
//! by Cramer's rule. The system is singular exactly when `x₂/x₁` is the same at every point with
//! `d > 0` (it is `−d` or `−log d`), so a fit needs at least two distinct `d > 0`.
//!
//! Peaks: `R_bon` is a downward parabola for `β > 0`, highest at `d* = α/(2β)` with
//! `R(d*) = α²/(4β)`; `R_RL'(d) = α − β(log d + 1)` vanishes at `d* = exp(α/β − 1)`, a maximum
//! for `β > 0` (`R_RL'' = −β/d`), with `R(d*) = β·d*`.

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result, non_empty, same_len};

/// Which of Gao et al.'s functional forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScalingForm {
    /// Best-of-n: `R(d) = d (α − β d)`.
    BestOfN,
    /// Reinforcement learning: `R(d) = d (α − β log d)`.
    Rl,
}

impl ScalingForm {
    /// The regressor multiplying `β`: `−d²` (best-of-n) or `−d log d` (RL; 0 at `d = 0`).
    pub fn beta_regressor(self, d: f64) -> f64 {
        match self {
            Self::BestOfN => -d * d,
            Self::Rl if d == 0.0 => 0.0,
            Self::Rl => -d * d.ln(),
        }
    }

    /// `R(d)` for coefficients `α`, `β`.
    pub fn eval(self, alpha: f64, beta: f64, d: f64) -> f64 {
        alpha * d + beta * self.beta_regressor(d)
    }

    /// The peak of `R` over `d > 0` (see the module docs): `None` when `β ≤ 0` (`R` has no
    /// maximum: it rises without bound, or is linear), when `d*` is not positive (best-of-n
    /// with `α ≤ 0`: over `d ≥ 0` the curve is highest at `d = 0`), or when `d*` overflows.
    pub fn peak(self, alpha: f64, beta: f64) -> Option<Peak> {
        if beta.is_nan() || beta <= 0.0 || !alpha.is_finite() {
            return None;
        }
        let d = match self {
            Self::BestOfN => alpha / (2.0 * beta),
            Self::Rl => (alpha / beta - 1.0).exp(),
        };
        (d > 0.0 && d.is_finite()).then(|| Peak {
            d,
            value: self.eval(alpha, beta, d),
        })
    }

    /// A short name: `best-of-n` or `RL`.
    pub fn name(self) -> &'static str {
        match self {
            Self::BestOfN => "best-of-n",
            Self::Rl => "RL",
        }
    }
}

/// Where a fitted curve is highest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// `d* = sqrt(KL)` at the peak.
    pub d: f64,
    /// `R(d*)`, the gold score gained over the initial policy at the peak.
    pub value: f64,
}

/// A least-squares fit of one [`ScalingForm`] to `(d, R)` points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalingFit {
    /// The form fitted.
    pub form: ScalingForm,
    /// `α`.
    pub alpha: f64,
    /// `β`.
    pub beta: f64,
    /// Standard error of `α` from the residuals, `sqrt(σ² (XᵀX)⁻¹₁₁)` with
    /// `σ² = SS_res/(n − 2)`, assuming independent errors; `None` with two points (no degrees of
    /// freedom left).
    pub alpha_se: Option<f64>,
    /// Standard error of `β`, as `alpha_se`.
    pub beta_se: Option<f64>,
    /// `R² = 1 − SS_res/SS_tot` on the given points (`SS_tot` about their mean; can be negative,
    /// as the forms have no intercept); `None` when all `R` are equal (`SS_tot = 0`).
    pub r_squared: Option<f64>,
    /// Number of points fitted.
    pub points: usize,
    /// The fitted curve's peak ([`ScalingForm::peak`]).
    pub peak: Option<Peak>,
}

impl ScalingFit {
    /// The fitted `R(d)`.
    pub fn predict(&self, d: f64) -> f64 {
        self.form.eval(self.alpha, self.beta, d)
    }

    /// `steps + 1` evenly spaced points `(d, R(d))` of the fitted curve on `[0, d_max]` (for
    /// plots); empty when `d_max` is not a positive finite number or `steps = 0`.
    pub fn curve(&self, d_max: f64, steps: usize) -> Vec<(f64, f64)> {
        if d_max.is_nan() || d_max <= 0.0 || d_max.is_infinite() || steps == 0 {
            return Vec::new();
        }
        (0..=steps)
            .map(|i| {
                let d = d_max * i as f64 / steps as f64;
                (d, self.predict(d))
            })
            .collect()
    }
}

/// Fits `form` to points `(d[i], r[i])` by least squares (module docs: the 2×2 normal
/// equations). `d` is `sqrt(KL)` (finite, `≥ 0`; points at `d = 0` are used and predicted as
/// 0), `r` the gold score relative to the initial policy (finite).
///
/// Errors (naming the argument): empty or mismatched `d` and `r`, a non-finite value, a
/// negative `d`, fewer than two distinct `d > 0`, or `d` values so close that the normal
/// equations are numerically singular.
pub fn fit_scaling_law(form: ScalingForm, d: &[f64], r: &[f64]) -> Result<ScalingFit> {
    non_empty("d", d.len())?;
    same_len("d", d.len(), "r", r.len())?;
    if let Some(i) = d.iter().position(|x| !x.is_finite() || *x < 0.0) {
        return Err(EvalError::input(
            "d",
            format!("item {i} is {}; d = sqrt(KL) must be finite and ≥ 0", d[i]),
        ));
    }
    if let Some(i) = r.iter().position(|x| !x.is_finite()) {
        return Err(EvalError::input(
            "r",
            format!("item {i} is not finite ({})", r[i]),
        ));
    }
    let mut positive: Vec<f64> = d.iter().copied().filter(|&x| x > 0.0).collect();
    positive.sort_by(f64::total_cmp);
    positive.dedup();
    if positive.len() < 2 {
        return Err(EvalError::input(
            "d",
            format!(
                "a fit of two coefficients needs at least 2 distinct d > 0, got {}",
                positive.len()
            ),
        ));
    }
    let (mut s11, mut s12, mut s22, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&x1, &y) in d.iter().zip(r) {
        let x2 = form.beta_regressor(x1);
        s11 += x1 * x1;
        s12 += x1 * x2;
        s22 += x2 * x2;
        b1 += x1 * y;
        b2 += x2 * y;
    }
    let det = s11 * s22 - s12 * s12;
    // Cauchy–Schwarz makes det > 0 for distinct d; relative to s11·s22 it measures how far the
    // two regressors are from collinear.
    if det.is_nan() || det <= 1e-12 * s11 * s22 {
        return Err(EvalError::input(
            "d",
            "the d values are too close together to separate α from β (singular normal equations)",
        ));
    }
    let alpha = (s22 * b1 - s12 * b2) / det;
    let beta = (s11 * b2 - s12 * b1) / det;
    let n = d.len();
    let ss_res: f64 = d
        .iter()
        .zip(r)
        .map(|(&x, &y)| (y - form.eval(alpha, beta, x)).powi(2))
        .sum();
    let mean = r.iter().sum::<f64>() / n as f64;
    let ss_tot: f64 = r.iter().map(|y| (y - mean).powi(2)).sum();
    let r_squared = (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot);
    let sigma2 = (n > 2).then(|| ss_res / (n - 2) as f64);
    Ok(ScalingFit {
        form,
        alpha,
        beta,
        alpha_se: sigma2.map(|s| (s * s22 / det).sqrt()),
        beta_se: sigma2.map(|s| (s * s11 / det).sqrt()),
        r_squared,
        points: n,
        peak: form.peak(alpha, beta),
    })
}

/// [`fit_scaling_law`] with the best-of-n form `R(d) = d (α − β d)`.
pub fn fit_bon(d: &[f64], r: &[f64]) -> Result<ScalingFit> {
    fit_scaling_law(ScalingForm::BestOfN, d, r)
}

/// [`fit_scaling_law`] with the RL form `R(d) = d (α − β log d)`.
pub fn fit_rl(d: &[f64], r: &[f64]) -> Result<ScalingFit> {
    fit_scaling_law(ScalingForm::Rl, d, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `d = sqrt(KL)` at best-of-n's KL for n = 1, 2, 4, …, 256 (0 at n = 1).
    fn bon_ds() -> Vec<f64> {
        (0..9)
            .map(|k| crate::bon_kl(1 << k).sqrt())
            .collect::<Vec<_>>()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn recovers_noise_free_curves_exactly() {
        let ds = bon_ds();
        let r: Vec<f64> = ds.iter().map(|&d| d * (0.8 - 0.3 * d)).collect();
        let f = fit_bon(&ds, &r).unwrap();
        assert!(
            close(f.alpha, 0.8, 1e-10) && close(f.beta, 0.3, 1e-10),
            "{f:?}"
        );
        assert!(close(f.r_squared.unwrap(), 1.0, 1e-12));
        assert!(f.alpha_se.unwrap() < 1e-6 && f.beta_se.unwrap() < 1e-6);

        // RL: d from 0 (the initial policy, d·log d → 0) to 5.
        let ds: Vec<f64> = (0..11).map(|i| 0.5 * i as f64).collect();
        let r: Vec<f64> = ds
            .iter()
            .map(|&d| ScalingForm::Rl.eval(0.6, 0.25, d))
            .collect();
        let f = fit_rl(&ds, &r).unwrap();
        assert!(
            close(f.alpha, 0.6, 1e-10) && close(f.beta, 0.25, 1e-10),
            "{f:?}"
        );
        assert_eq!(f.points, 11);
    }

    #[test]
    fn recovers_approximately_under_small_deterministic_noise() {
        // Noise ±0.01 of a fixed pattern: far below the curves' span (≈ 0.5).
        let noise = |i: usize| 0.01 * ((i * 7 % 5) as f64 - 2.0) / 2.0;
        let ds = bon_ds();
        let r: Vec<f64> = ds
            .iter()
            .enumerate()
            .map(|(i, &d)| d * (0.8 - 0.3 * d) + noise(i))
            .collect();
        let f = fit_bon(&ds, &r).unwrap();
        assert!(
            (f.alpha - 0.8).abs() < 0.03 && (f.beta - 0.3).abs() < 0.02,
            "{f:?}"
        );
        assert!(f.r_squared.unwrap() > 0.98);

        let ds: Vec<f64> = (0..11).map(|i| 0.5 * i as f64).collect();
        let r: Vec<f64> = ds
            .iter()
            .enumerate()
            .map(|(i, &d)| ScalingForm::Rl.eval(0.6, 0.25, d) + noise(i))
            .collect();
        let f = fit_rl(&ds, &r).unwrap();
        assert!(
            (f.alpha - 0.6).abs() < 0.03 && (f.beta - 0.25).abs() < 0.02,
            "{f:?}"
        );
        assert!(f.r_squared.unwrap() > 0.98);
    }

    // Golden, best-of-n on d = [1, 2, 3], R = [1, 1, 0.5]: x₁ = d, x₂ = −d².
    // Σx₁² = 14, Σx₁x₂ = −36, Σx₂² = 98, Σx₁R = 4.5, Σx₂R = −9.5, det = 14·98 − 36² = 76.
    // α = (98·4.5 − 36·9.5)/76 = 99/76 = 1.302632, β = (−14·9.5 + 36·4.5)/76 = 29/76 = 0.381579.
    // Fitted R = [70, 82, 36]/76, residuals [6, −6, 2]/76, SS_res = 76/76² = 1/76;
    // mean R = 5/6, SS_tot = 1/36 + 1/36 + 1/9 = 1/6; R² = 1 − 6/76 = 70/76 = 0.921053.
    // Peak d* = α/(2β) = 99/58 = 1.706897, R(d*) = α²/(4β) = 9801/8816 = 1.111729.
    // SE: σ² = (1/76)/(3 − 2) = 1/76; var α = σ²·98/76 = 98/5776 → se 0.130257;
    // var β = σ²·14/76 = 14/5776 → se 0.049233.
    #[test]
    fn golden_r_squared_peak_and_se() {
        let f = fit_bon(&[1.0, 2.0, 3.0], &[1.0, 1.0, 0.5]).unwrap();
        assert!(close(f.alpha, 99.0 / 76.0, 1e-12), "{f:?}");
        assert!(close(f.beta, 29.0 / 76.0, 1e-12), "{f:?}");
        assert!(close(f.r_squared.unwrap(), 70.0 / 76.0, 1e-12), "{f:?}");
        let p = f.peak.unwrap();
        assert!(close(p.d, 99.0 / 58.0, 1e-12) && close(p.value, 9801.0 / 8816.0, 1e-12));
        assert!((f.alpha_se.unwrap() - 0.130257).abs() < 1e-6, "{f:?}");
        assert!((f.beta_se.unwrap() - 0.049233).abs() < 1e-6, "{f:?}");
    }

    // RL with α = 1, β = 0.5: d* = exp(1/0.5 − 1) = e = 2.718282, R(d*) = β·d* = e/2 = 1.359141
    // (R(e) = e(1 − 0.5·ln e) = e/2). Best-of-n with α = 1, β = 0.25: d* = 2, R(2) = 2(1 − 0.5) = 1.
    #[test]
    fn golden_peaks() {
        let p = ScalingForm::Rl.peak(1.0, 0.5).unwrap();
        assert!(close(p.d, std::f64::consts::E, 1e-12) && close(p.value, 1.359141, 1e-6));
        let p = ScalingForm::BestOfN.peak(1.0, 0.25).unwrap();
        assert!(close(p.d, 2.0, 1e-12) && close(p.value, 1.0, 1e-12));
        // No peak: β ≤ 0 (rising without bound), or a best-of-n parabola peaking at d ≤ 0.
        assert_eq!(ScalingForm::Rl.peak(1.0, 0.0), None);
        assert_eq!(ScalingForm::BestOfN.peak(1.0, -0.1), None);
        assert_eq!(ScalingForm::BestOfN.peak(-1.0, 0.5), None);
        // A fit of a rising-only curve has no peak.
        let f = fit_rl(&[0.5, 1.0, 2.0, 3.0], &[0.5, 1.2, 3.0, 5.0]).unwrap();
        assert!(f.beta <= 0.0 && f.peak.is_none(), "{f:?}");
    }

    #[test]
    fn constant_r_has_no_r_squared_and_curve_spans_zero_to_max() {
        let f = fit_bon(&[0.0, 1.0, 2.0], &[0.0, 0.0, 0.0]).unwrap();
        assert_eq!((f.alpha, f.beta, f.r_squared), (0.0, 0.0, None));
        let g = fit_bon(&[1.0, 2.0], &[1.0, 1.0]).unwrap();
        assert_eq!(g.alpha_se, None);
        let c = g.curve(2.0, 4);
        assert_eq!(c.len(), 5);
        assert_eq!(c[0], (0.0, 0.0));
        assert!(close(c[4].1, 1.0, 1e-12) && close(c[2].1, 1.0, 1e-12));
        assert!(g.curve(f64::NAN, 4).is_empty() && g.curve(1.0, 0).is_empty());
    }

    #[test]
    fn bad_input_names_the_argument() {
        let arg = |e: EvalError| match e {
            EvalError::Input { arg, .. } => arg,
            EvalError::LengthMismatch { a, b, .. } => format!("{a}/{b}"),
            other => panic!("unexpected {other}"),
        };
        assert_eq!(arg(fit_bon(&[], &[]).unwrap_err()), "d");
        assert_eq!(arg(fit_bon(&[1.0, 2.0], &[1.0]).unwrap_err()), "d/r");
        assert_eq!(
            arg(fit_bon(&[1.0, f64::NAN], &[1.0, 2.0]).unwrap_err()),
            "d"
        );
        assert_eq!(arg(fit_bon(&[1.0, -2.0], &[1.0, 2.0]).unwrap_err()), "d");
        assert_eq!(
            arg(fit_rl(&[1.0, 2.0], &[1.0, f64::INFINITY]).unwrap_err()),
            "r"
        );
        // One distinct d > 0 (zeros and repeats do not count).
        assert_eq!(
            arg(fit_rl(&[0.0, 1.5, 1.5], &[0.0, 1.0, 1.1]).unwrap_err()),
            "d"
        );
        assert_eq!(
            arg(fit_bon(&[1.0, 1.0 + 1e-12], &[1.0, 1.0]).unwrap_err()),
            "d"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn recovers_random_alpha_beta(
            alpha in 0.01f64..5.0,
            beta in 0.01f64..2.0,
            rl in any::<bool>(),
            n in 3usize..20,
            step in 0.05f64..1.0,
        ) {
            let form = if rl { ScalingForm::Rl } else { ScalingForm::BestOfN };
            let ds: Vec<f64> = (0..n).map(|i| step * i as f64).collect();
            let r: Vec<f64> = ds.iter().map(|&d| form.eval(alpha, beta, d)).collect();
            let f = fit_scaling_law(form, &ds, &r).unwrap();
            prop_assert!(close(f.alpha, alpha, 1e-7), "{:?}", f);
            prop_assert!(close(f.beta, beta, 1e-7), "{:?}", f);
            let p = f.peak.unwrap();
            let want = form.peak(alpha, beta).unwrap();
            prop_assert!(close(p.d, want.d, 1e-6) && close(p.value, want.value, 1e-6));
        }
    }
}
