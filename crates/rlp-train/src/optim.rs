//! [`AdamW`]: one optimiser step for any burn module from a scalar loss — the shared core of the
//! SFT trainer, reward-model training and the policy optimisers. It refuses non-finite losses
//! before touching the weights and counts steps.

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use rlp_core::tensor_io::scalar;
use std::path::Path;

use crate::grad_sync::all_reduce_gradients;
use rlp_models::{ModelError, Result};

/// Optimiser settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct OptimConfig {
    /// Learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Clip each parameter tensor's gradient to this L2 norm (`None`: no clipping). burn's
    /// `GradientClipping::Norm` clips tensor by tensor, not the global norm over all
    /// parameters as PyTorch's `clip_grad_norm_` does.
    pub max_grad_norm: Option<f32>,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
        }
    }
}

/// AdamW (Loshchilov & Hutter) with optional global-norm clipping, stepping a module whose
/// parameters live on an autodiff device. Parameters marked `no_grad` are left untouched.
pub struct AdamW {
    optim: ModuleOptimizer,
    /// Optimiser settings.
    pub config: OptimConfig,
    /// Steps taken so far.
    pub step: u64,
}

impl AdamW {
    /// A fresh optimiser (no moment estimates yet).
    pub fn new(config: OptimConfig) -> Self {
        let optim = AdamWConfig::new()
            .with_weight_decay(config.weight_decay)
            .with_grad_clipping(config.max_grad_norm.map(GradientClippingConfig::Norm))
            .init();
        Self {
            optim,
            config,
            step: 0,
        }
    }

    /// Minimises `loss` (a one-element tensor computed from `module`) by one step at learning
    /// rate `lr`; returns the updated module and the loss value before the update. A non-finite
    /// loss is a [`ModelError::NonFiniteLoss`], a finite loss whose gradient has a non-finite
    /// global norm a [`ModelError::NonFiniteGradient`]; either way the module is not changed
    /// (it is dropped with the error: keep a clone if you must go on).
    ///
    /// Under data parallelism (more than one rank in [`rlp_core::parallel::world`]) `loss` is
    /// this rank's shard's, and every shard counts alike: [`AdamW::minimize_weighted`] with
    /// weight 1.
    pub fn minimize<M: Module>(&mut self, module: M, loss: Tensor<1>, lr: f64) -> Result<(M, f64)> {
        self.minimize_weighted(module, loss, lr, 1.0)
    }

    /// [`AdamW::minimize`] for a `loss` that is a mean over `weight` units (examples, or tokens
    /// of a token-mean loss). Under data parallelism the ranks' gradients and losses are
    /// averaged with these weights before the step ([`crate::grad_sync`]), so the step and
    /// the returned loss are the global minibatch's; in one process `weight` is unused.
    pub fn minimize_weighted<M: Module>(
        &mut self,
        module: M,
        loss: Tensor<1>,
        lr: f64,
        weight: f64,
    ) -> Result<(M, f64)> {
        let value = scalar(loss.clone().detach());
        let parallel = rlp_core::parallel::world().size() > 1;
        // Alone, refuse before the backward pass; in a group, only after every rank has
        // reduced, so that all of them stop together.
        if !parallel && !value.is_finite() {
            return Err(ModelError::NonFiniteLoss {
                step: self.step,
                loss: value,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &module);
        let (grads, value) = all_reduce_gradients(&module, grads, value, weight)?;
        if !value.is_finite() {
            return Err(ModelError::NonFiniteLoss {
                step: self.step,
                loss: value,
            });
        }
        let norm = gradient_norm(&module, &grads);
        if !norm.is_finite() {
            return Err(ModelError::NonFiniteGradient {
                step: self.step,
                loss: value,
                norm,
            });
        }
        let module = self.optim.step(lr, module, grads);
        self.step += 1;
        Ok((module, value))
    }

    /// Writes the moment estimates to `path` (burn's burnpack format). They are keyed by
    /// parameter id, so they apply to a module restored with [`save_module`] /
    /// [`load_module`], which keep the ids; the step count is the caller's to keep.
    pub fn save_state(&self, path: &Path) -> Result<()> {
        self.optim.save(path).map_err(|e| record_error(path, e))
    }

    /// Restores the moment estimates written by [`AdamW::save_state`] and sets the step count.
    pub fn load_state(mut self, path: &Path, step: u64) -> Result<Self> {
        self.optim = self.optim.load(path).map_err(|e| record_error(path, e))?;
        self.step = step;
        Ok(self)
    }
}

/// The global L2 norm `‖g‖ = √(Σ_p Σ_i g_{p,i}²)` of the gradients of `module`'s parameters in
/// `grads` (parameters without a gradient count 0), summed on the device with one host read.
pub fn gradient_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    struct SumOfSquares<'a> {
        grads: &'a GradientsParams,
        sum: Option<Tensor<1>>,
    }
    impl burn::module::ModuleVisitor for SumOfSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s = g.square().sum();
                self.sum = Some(match self.sum.take() {
                    Some(acc) => acc + s,
                    None => s,
                });
            }
        }
    }
    let mut v = SumOfSquares { grads, sum: None };
    module.visit(&mut v);
    v.sum.map_or(0.0, |s| scalar(s).sqrt())
}

/// Saves `module`'s parameters with their ids (burnpack), for exact resumption of training:
/// optimiser state is keyed by parameter id. Checkpoints for users are safetensors
/// (`checkpoint::save`); this is the trainer's own format.
pub fn save_module<M: Module>(module: &M, path: &Path) -> Result<()> {
    module
        .clone()
        .save_file(path)
        .map_err(|e| record_error(path, e))
}

/// Loads parameters (and their ids) written by [`save_module`] into `module`, a module of the
/// same structure on the device they should live on.
pub fn load_module<M: Module>(module: M, path: &Path) -> Result<M> {
    module
        .try_load_file(path)
        .map_err(|e| record_error(path, e))
}

fn record_error(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Checkpoint {
        path: path.to_path_buf(),
        tensor: "*".into(),
        message: e.to_string(),
    }
}

/// The learning rate at 0-based `step` of `total`: linear warm-up over the first 5% of steps
/// (at least one), then linear decay from `peak` to `0.1·peak` at the last step.
pub fn warmup_linear_decay(step: usize, total: usize, peak: f64) -> f64 {
    let warm = (total / 20).max(1);
    if step < warm {
        return peak * (step + 1) as f64 / warm as f64;
    }
    let frac = (step - warm) as f64 / (total - warm).max(1) as f64;
    peak * (1.0 - 0.9 * frac)
}

/// Checks that `module`'s parameters can be trained: they must live on an autodiff device.
pub fn require_autodiff<M: Module>(module: &M, what: &str) -> Result<()> {
    let devices = module.devices();
    if devices.iter().any(|d| !d.is_autodiff()) {
        return Err(ModelError::input(
            what,
            "training needs an autodiff device (BackendSpec::autodiff_device)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Initializer, Linear, LinearConfig};
    use burn::tensor::TensorData;
    use rlp_core::device::test_backend;

    /// A bias-free `Linear` 2 → 1 with weights `w`, on the autodiff device.
    fn linear(w: [f32; 2]) -> (Linear, burn::tensor::Device) {
        let d = test_backend().autodiff_device().unwrap();
        let mut l = LinearConfig::new(2, 1)
            .with_bias(false)
            .with_initializer(Initializer::Zeros)
            .init(&d);
        l.weight = burn::module::Param::from_tensor(Tensor::<2>::from_data(
            TensorData::new(w.to_vec(), [2, 1]),
            &d,
        ));
        (l, d)
    }

    /// Golden: the loss `w·x` with `x = (3, 4)` has gradient `x`, whose norm is 5.
    #[test]
    fn gradient_norm_golden() {
        let (l, d) = linear([0.5, -1.0]);
        let x = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2]), &d);
        let loss = l.forward(x).reshape([1]);
        let grads = GradientsParams::from_grads(loss.backward(), &l);
        assert!((gradient_norm(&l, &grads) - 5.0).abs() < 1e-6);
    }

    /// A finite loss with an infinite gradient stops the step without touching the optimiser:
    /// `L = exp(w·x)` at `w·x = 88.5` is 2.7e38 (finite in f32), but `∂L/∂w₀ = L·x₀` overflows
    /// to ∞ on every IEEE backend.
    #[test]
    fn a_non_finite_gradient_is_an_error_before_the_update() {
        let (l, d) = linear([1.0, 0.0]);
        let x = Tensor::<2>::from_data(TensorData::new(vec![88.5f32, 0.0], [1, 2]), &d);
        let loss = l.forward(x).reshape([1]).exp();
        let mut opt = AdamW::new(OptimConfig::default());
        match opt.minimize(l, loss, 1e-3) {
            Err(ModelError::NonFiniteGradient {
                step: 0,
                loss,
                norm,
            }) => {
                assert!(loss.is_finite() && loss > 1e38, "{loss}");
                assert!(!norm.is_finite());
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("an infinite gradient was applied"),
        }
        assert_eq!(opt.step, 0);
    }

    /// 100 steps at peak 1.0: warm-up over 5 steps (0.2, 0.4, …, 1.0), then 1.0 → 0.1 linearly
    /// over the remaining 95 (step 5 is the peak, step 99 is 1 − 0.9·94/95).
    #[test]
    fn schedule_golden() {
        assert!((warmup_linear_decay(0, 100, 1.0) - 0.2).abs() < 1e-12);
        assert!((warmup_linear_decay(4, 100, 1.0) - 1.0).abs() < 1e-12);
        assert!((warmup_linear_decay(5, 100, 1.0) - 1.0).abs() < 1e-12);
        let last = 1.0 - 0.9 * 94.0 / 95.0;
        assert!((warmup_linear_decay(99, 100, 1.0) - last).abs() < 1e-12);
        assert!((warmup_linear_decay(0, 1, 0.5) - 0.5).abs() < 1e-12);
    }
}
