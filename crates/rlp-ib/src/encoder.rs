//! The stochastic encoder of RLP-UML (`docs/algorithms.md`, "RLP: Reward Learning on Policy"; Lang et al. 2024,
//! §3.2 after Federici et al. 2020, eq. 5): `p(z|v) = N(μ(h), diag σ(h)²)` over the reward
//! model's final-layer representation `h` of a view `v = (x, y)`, with `μ` and `σ` three-layer
//! MLPs and `σ = softplus(·) + 1e-7`. Samples are reparameterised, `z = μ + σ·ε` with `ε ~ N(0, I)`
//! drawn on the host from a [`SeededRng`], so a seed fixes them on every backend.

use burn::module::Module;
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor};
use rlp_core::SeededRng;
use rlp_core::tensor_io::floats;

use crate::mlp::Mlp3;

/// Added to `softplus(·)` so that `σ` is never 0 (the reference code's constant).
pub const SIGMA_FLOOR: f64 = 1e-7;

/// `½·log(2π)`, the per-dimension constant of a Gaussian log-density.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// A batch of diagonal Gaussians: row `i` is `N(mean[i], diag std[i]²)`.
#[derive(Debug, Clone)]
pub struct Gaussian {
    /// `[b, k]` means.
    pub mean: Tensor<2>,
    /// `[b, k]` standard deviations (positive).
    pub std: Tensor<2>,
}

impl Gaussian {
    /// `log p_i(z_i)` for each row: `−½ Σ_k [((z − μ)/σ)² + 2·log σ + log 2π]`, `[b, k] → [b]`.
    pub fn log_prob(&self, z: Tensor<2>) -> Tensor<1> {
        let [_, k] = z.dims();
        let u = (z - self.mean.clone()) / self.std.clone();
        let per_dim = u.powi_scalar(2) * 0.5 + self.std.clone().log();
        per_dim.sum_dim(1).squeeze_dim::<1>(1).neg() - HALF_LN_2PI * k as f64
    }

    /// The reparameterised sample `μ + σ·ε` for standard-normal noise `eps` `[b, k]`.
    pub fn rsample(&self, eps: Tensor<2>) -> Tensor<2> {
        self.mean.clone() + self.std.clone() * eps
    }

    /// `[b, k]`.
    pub fn dims(&self) -> [usize; 2] {
        self.mean.dims()
    }
}

/// `shape` standard-normal draws from `rng`, as a tensor on `device`.
pub fn standard_normal(rng: &mut SeededRng, shape: [usize; 2], device: &Device) -> Tensor<2> {
    floats(rng.normal_vec(shape[0] * shape[1], 1.0), shape, device)
}

/// `h ↦ N(μ(h), diag σ(h)²)`, shared by both views (as in the reference code, where
/// `encoder_v1` and `encoder_v2` are one network).
#[derive(Module, Debug)]
pub struct GaussianEncoder {
    /// `μ`: `d → hidden → hidden → z_dim`.
    pub mu: Mlp3,
    /// The pre-activation of `σ`: `d → hidden → hidden → z_dim`.
    pub sigma: Mlp3,
}

impl GaussianEncoder {
    /// A fresh encoder for `d`-wide representations (weights from `rng`, see [`Mlp3::init`]).
    pub fn init(
        d: usize,
        hidden: usize,
        z_dim: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        Self {
            mu: Mlp3::init(d, hidden, z_dim, rng, device),
            sigma: Mlp3::init(d, hidden, z_dim, rng, device),
        }
    }

    /// `p(z|h)` for a batch `h` `[b, d]`: `μ(h)` and `σ(h) = softplus(·) + 1e-7`.
    pub fn forward(&self, h: Tensor<2>) -> Gaussian {
        Gaussian {
            mean: self.mu.forward(h.clone()),
            std: softplus(self.sigma.forward(h), 1.0) + SIGMA_FLOOR,
        }
    }

    /// `p(z|h)` and one reparameterised sample `z` `[b, z_dim]` with noise from `rng`.
    pub fn sample(&self, h: Tensor<2>, rng: &mut SeededRng) -> (Gaussian, Tensor<2>) {
        let device = h.device();
        let p = self.forward(h);
        let eps = standard_normal(rng, p.dims(), &device);
        let z = p.rsample(eps);
        (p, z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::to_f32;

    /// `log N(1; 0, 1) = −½ − ½·log 2π = −1.418939`;
    /// `log N(2; 1, 2²) = −½·(½)² − log 2 − ½·log 2π = −0.125 − 0.693147 − 0.918939 = −1.737086`;
    /// a 2-dimensional row is the sum of its dimensions.
    #[test]
    fn log_prob_golden() {
        let d = test_backend().device().unwrap();
        let p = Gaussian {
            mean: floats(vec![0., 1., 0., 1.], [2, 2], &d),
            std: floats(vec![1., 2., 1., 2.], [2, 2], &d),
        };
        let lp = to_f32(p.log_prob(floats(vec![1., 2., 0., 1.], [2, 2], &d)));
        let want0 = -1.418939 - 1.737086;
        // Row 1 at the means: −½·log 2π twice, minus log 2.
        let want1 = -2.0 * 0.918939 - std::f64::consts::LN_2;
        assert!((lp[0] as f64 - want0).abs() < 1e-5, "{lp:?}");
        assert!((lp[1] as f64 - want1).abs() < 1e-5, "{lp:?}");
    }

    #[test]
    fn encoder_is_seeded_and_sigma_positive() {
        let d = test_backend().device().unwrap();
        let enc = |seed| GaussianEncoder::init(6, 8, 3, &mut SeededRng::new(seed), &d);
        let h = floats(
            (0..24).map(|i| (i as f32 * 0.7).sin()).collect(),
            [4, 6],
            &d,
        );
        let (p, z) = enc(1).sample(h.clone(), &mut SeededRng::new(9));
        let (q, z2) = enc(1).sample(h.clone(), &mut SeededRng::new(9));
        assert_eq!(to_f32(z.clone()), to_f32(z2));
        assert_eq!(to_f32(p.mean.clone()), to_f32(q.mean));
        assert!(to_f32(p.std).iter().all(|&s| s > 0.0));
        assert_eq!(z.dims(), [4, 3]);
        let (_, z3) = enc(2).sample(h, &mut SeededRng::new(9));
        assert_ne!(to_f32(z), to_f32(z3));
    }
}
