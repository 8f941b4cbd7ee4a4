//! Weight-space averages of models with the same architecture: a *soup*
//! `θ = Σ_i w_i θ_i` (SALSA's reference model, `docs/algorithms.md`) and the exponential
//! moving average `θ̄ ← η θ̄ + (1−η) θ` (Elastic Reset's EMA).
//!
//! Both walk the models with burn's [`ModuleVisitor`] (reading every float parameter) and
//! [`ModuleMapper`] (writing them), matching parameters by their position in the module tree:
//! models of the same [`LlamaConfig`](rlp_models::LlamaConfig) have the same tree, and the shapes are
//! checked before anything is written. Parameter ids are not used, because independently
//! initialised models (two SFT seeds) have different ids.
//!
//! The arithmetic runs on plain (non-autodiff) tensors, so no autodiff graph is recorded; the
//! result takes the device and the training state (autodiff, `require_grad`) of the model whose
//! weights it replaces.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

use rlp_models::CausalLm;
use rlp_models::{ModelError, Result};

/// How far the weights of a soup may sum from 1.
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// The weight soup `θ = Σ_i w_i θ_i` of `models` (same configuration) with `weights` summing to
/// 1 (within [`WEIGHT_SUM_TOLERANCE`]; negative weights are allowed, as in extrapolation).
///
/// The result has the first model's device and training state. Errors: no models, a weight
/// count that differs from the model count, a non-finite weight, weights not summing to 1, or
/// configurations that differ (the error names the first differing field).
pub fn weighted_average(models: &[&CausalLm], weights: &[f64]) -> Result<CausalLm> {
    let Some(first) = models.first() else {
        return Err(ModelError::input("models", "no models to average"));
    };
    if weights.len() != models.len() {
        return Err(ModelError::input(
            "weights",
            format!("{} weights for {} models", weights.len(), models.len()),
        ));
    }
    if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
        return Err(ModelError::input("weights", format!("{w} is not finite")));
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        return Err(ModelError::input(
            "weights",
            format!("they sum to {sum}, not 1"),
        ));
    }
    combine((*first).clone(), models, weights)
}

/// One EMA step `θ̄ ← η θ̄ + (1−η) θ` per parameter, with `θ̄ = ema` and `θ = online` (which may
/// live on an autodiff device; its values are read without the graph). The result keeps `ema`'s
/// device and training state. `η = 1` keeps `ema`, `η = 0` copies `online`.
///
/// # Panics
/// When `η` is outside `[0, 1]` or the two models differ in architecture: both are programming
/// errors in a training loop (the online model is a trained copy of the EMA's). Use
/// [`try_ema_update`] to get an error instead.
pub fn ema_update(ema: CausalLm, online: &CausalLm, eta: f64) -> CausalLm {
    try_ema_update(ema, online, eta).unwrap_or_else(|e| panic!("ema_update: {e}"))
}

/// [`ema_update`] returning an error (naming `eta` or the differing config field) instead of
/// panicking.
pub fn try_ema_update(ema: CausalLm, online: &CausalLm, eta: f64) -> Result<CausalLm> {
    if !(0.0..=1.0).contains(&eta) {
        return Err(ModelError::input("eta", format!("{eta} is not in [0, 1]")));
    }
    let snapshot = ema.clone();
    combine(ema, &[&snapshot, online], &[eta, 1.0 - eta])
}

/// Writes `Σ_i weights[i] · sources[i]` into `target`'s parameters.
fn combine(target: CausalLm, sources: &[&CausalLm], weights: &[f64]) -> Result<CausalLm> {
    for m in sources {
        check_same_config(&target, m)?;
    }
    let device = target.device();
    let want = shapes(&target);
    let mut values = Vec::with_capacity(sources.len());
    for (i, m) in sources.iter().enumerate() {
        let mut c = Collect {
            device: device.clone(),
            values: Vec::new(),
            shapes: Vec::new(),
        };
        m.visit(&mut c);
        if c.shapes != want {
            return Err(ModelError::input(
                "models",
                format!("model {i} has a different parameter layout than the first"),
            ));
        }
        values.push(c.values);
    }
    let mut mapper = Combine {
        sources: &values,
        weights,
        index: 0,
    };
    Ok(target.map(&mut mapper))
}

/// Errors naming the first field of `b`'s config that differs from `a`'s.
fn check_same_config(a: &CausalLm, b: &CausalLm) -> Result<()> {
    if a.config == b.config {
        return Ok(());
    }
    let (va, vb) = (
        serde_json::to_value(&a.config).unwrap_or_default(),
        serde_json::to_value(&b.config).unwrap_or_default(),
    );
    let field = match (va.as_object(), vb.as_object()) {
        (Some(oa), Some(ob)) => oa
            .iter()
            .find(|(k, v)| ob.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .or_else(|| ob.keys().find(|k| !oa.contains_key(*k)).cloned()),
        _ => None,
    }
    .unwrap_or_else(|| "config".into());
    Err(ModelError::InvalidInput {
        field: format!("config.{field}"),
        message: format!(
            "the models differ ({} vs {})",
            va.get(&field).cloned().unwrap_or_default(),
            vb.get(&field).cloned().unwrap_or_default()
        ),
    })
}

/// The shapes of every float parameter, in visiting order.
fn shapes(model: &CausalLm) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl ModuleVisitor for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.lazy_shape().to_vec());
        }
    }
    let mut s = Shapes(Vec::new());
    model.visit(&mut s);
    s.0
}

/// Reads every float parameter as a flat plain tensor on `device`.
struct Collect {
    device: Device,
    values: Vec<Tensor<1>>,
    shapes: Vec<Vec<usize>>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().without_autodiff();
        let dims = t.dims();
        self.shapes.push(dims.to_vec());
        let n: usize = dims.iter().product();
        self.values.push(t.reshape([n]).to_device(&self.device));
    }
}

/// Replaces the `index`-th float parameter by `Σ_i weights[i] · sources[i][index]`.
struct Combine<'a> {
    sources: &'a [Vec<Tensor<1>>],
    weights: &'a [f64],
    index: usize,
}

impl ModuleMapper for Combine<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let i = self.index;
        self.index += 1;
        param.map(|old| {
            let dims = old.dims();
            let (autodiff, require_grad) = (old.is_autodiff(), old.is_require_grad());
            let mut acc: Option<Tensor<1>> = None;
            for (src, &w) in self.sources.iter().zip(self.weights) {
                // Zero weights are skipped, so that a (1, 0) soup or an η = 1 EMA is exact.
                if w == 0.0 {
                    continue;
                }
                let term = if w == 1.0 {
                    src[i].clone()
                } else {
                    src[i].clone().mul_scalar(w)
                };
                acc = Some(match acc {
                    None => term,
                    Some(a) => a + term,
                });
            }
            let plain = old.without_autodiff();
            let value = match acc {
                Some(v) => v.reshape(dims),
                None => plain.zeros_like(),
            };
            match (autodiff, require_grad) {
                (false, _) => value,
                (true, false) => value.autodiff(),
                (true, true) => value.autodiff().require_grad(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rlp_core::SeededRng;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{ints, max_abs_diff, to_f32};
    use rlp_models::LlamaConfig;

    fn model(seed: u64, device: &Device) -> CausalLm {
        CausalLm::init(&LlamaConfig::tiny(40), &mut SeededRng::new(seed), device).unwrap()
    }

    /// Every float parameter, flattened and concatenated, in visiting order.
    fn flat(m: &CausalLm) -> Vec<f32> {
        let mut c = Collect {
            device: m.device(),
            values: Vec::new(),
            shapes: Vec::new(),
        };
        m.visit(&mut c);
        c.values.into_iter().flat_map(to_f32).collect()
    }

    fn logits(m: &CausalLm) -> Vec<f32> {
        let toks = ints(vec![1, 5, 9, 3, 7, 2], [2, 3], &m.device());
        to_f32(m.forward(toks, None).logits)
    }

    #[test]
    fn soup_of_identical_models_is_the_model() {
        let d = test_backend().device().unwrap();
        let m = model(1, &d);
        let soup = weighted_average(&[&m, &m, &m], &[0.2, 0.3, 0.5]).unwrap();
        let diff = max_abs_diff(&logits(&m), &logits(&soup));
        assert!(diff < 1e-5, "logits differ by {diff}");
    }

    #[test]
    fn soup_with_weights_one_zero_is_the_first_model() {
        let d = test_backend().device().unwrap();
        let (a, b) = (model(1, &d), model(2, &d));
        let soup = weighted_average(&[&a, &b], &[1.0, 0.0]).unwrap();
        assert_eq!(flat(&soup), flat(&a));
        let half = weighted_average(&[&a, &b], &[0.5, 0.5]).unwrap();
        let (fa, fb, fh) = (flat(&a), flat(&b), flat(&half));
        let mid: Vec<f32> = fa.iter().zip(&fb).map(|(x, y)| 0.5 * x + 0.5 * y).collect();
        assert!(max_abs_diff(&fh, &mid) < 1e-7);
    }

    #[test]
    fn soup_rejects_bad_input() {
        let d = test_backend().device().unwrap();
        let (a, b) = (model(1, &d), model(2, &d));
        let err = |r: Result<CausalLm>| r.unwrap_err().to_string();
        assert!(err(weighted_average(&[], &[])).contains("no models"));
        assert!(err(weighted_average(&[&a, &b], &[1.0])).contains("1 weights for 2 models"));
        assert!(err(weighted_average(&[&a, &b], &[0.5, 0.4])).contains("sum to 0.9"));
        assert!(err(weighted_average(&[&a, &b], &[f64::NAN, 1.0])).contains("not finite"));
        let mut cfg = LlamaConfig::tiny(40);
        cfg.intermediate_size = 64;
        let c = CausalLm::init(&cfg, &mut SeededRng::new(3), &d).unwrap();
        let e = err(weighted_average(&[&a, &c], &[0.5, 0.5]));
        assert!(e.contains("config.intermediate_size"), "{e}");
    }

    #[test]
    fn ema_extremes_and_autodiff_online() {
        let d = test_backend().device().unwrap();
        let (a, b) = (model(1, &d), model(2, &d));
        assert_eq!(flat(&ema_update(a.clone(), &b, 1.0)), flat(&a));
        assert_eq!(flat(&ema_update(a.clone(), &b, 0.0)), flat(&b));
        // The online model on the autodiff device; the EMA stays plain.
        let online = b.clone().fork(&d.clone().autodiff());
        let e = ema_update(a.clone(), &online, 0.0);
        assert!(e.devices().iter().all(|dev| !dev.is_autodiff()));
        assert_eq!(flat(&e), flat(&b));
        assert!(try_ema_update(a, &b, 1.5).is_err());
    }

    #[test]
    fn soup_keeps_the_autodiff_training_state() {
        let d = test_backend().device().unwrap();
        let ad = d.clone().autodiff();
        let (a, b) = (model(1, &ad), model(2, &d));
        let soup = weighted_average(&[&a, &b], &[0.5, 0.5]).unwrap();
        let w = soup.embed_tokens.weight.val();
        assert!(w.is_autodiff() && w.is_require_grad());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn ema_is_a_convex_combination(eta in 0.0f64..=1.0, seed in 0u64..1000) {
            let d = test_backend().device().unwrap();
            let (a, b) = (model(seed, &d), model(seed + 1, &d));
            let (fa, fb) = (flat(&a), flat(&b));
            let fe = flat(&ema_update(a, &b, eta));
            for ((x, y), e) in fa.iter().zip(&fb).zip(&fe) {
                let (lo, hi) = (x.min(*y), x.max(*y));
                let tol = 1e-6 * (1.0 + hi.abs().max(lo.abs()));
                prop_assert!(*e >= lo - tol && *e <= hi + tol, "{e} not in [{lo}, {hi}]");
                let want = eta * *x as f64 + (1.0 - eta) * *y as f64;
                prop_assert!((*e as f64 - want).abs() < 1e-6);
            }
        }
    }
}
