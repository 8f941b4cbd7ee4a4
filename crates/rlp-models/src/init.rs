//! Seeded weight initialisation from [`SeededRng`], so the same seed gives the same model on
//! every backend (the values are drawn on the host).

use burn::module::Param;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::{Device, Tensor, TensorData};
use rlp_core::SeededRng;

/// A `[rows, cols]` parameter drawn from `N(0, std²)`.
pub fn normal_param(
    rng: &mut SeededRng,
    rows: usize,
    cols: usize,
    std: f64,
    device: &Device,
) -> Param<Tensor<2>> {
    let data = TensorData::new(rng.normal_vec(rows * cols, std), [rows, cols]);
    Param::from_tensor(Tensor::from_data(data, device))
}

/// A bias-free linear layer `d_in → d_out` (burn's `[d_in, d_out]` layout), `N(0, std²)`.
pub fn linear(rng: &mut SeededRng, d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    Linear {
        weight: normal_param(rng, d_in, d_out, std, device),
        bias: None,
    }
}

/// A linear layer from an existing `[d_in, d_out]` weight.
pub fn linear_from(weight: Tensor<2>) -> Linear {
    Linear {
        weight: Param::from_tensor(weight),
        bias: None,
    }
}

/// An embedding table `[n, d]`, `N(0, std²)`.
pub fn embedding(rng: &mut SeededRng, n: usize, d: usize, std: f64, device: &Device) -> Embedding {
    Embedding {
        weight: normal_param(rng, n, d, std, device),
    }
}

/// An RMSNorm with the given gain vector.
pub fn rms_norm(gamma: Tensor<1>, eps: f64) -> RmsNorm {
    RmsNorm {
        gamma: Param::from_tensor(gamma),
        epsilon: eps,
    }
}

/// An RMSNorm initialised to unit gain.
pub fn rms_norm_ones(d: usize, eps: f64, device: &Device) -> RmsNorm {
    rms_norm(Tensor::ones([d], device), eps)
}
