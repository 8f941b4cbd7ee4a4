//! The SwiGLU feed-forward block (Shazeer 2020, eq. 6): `down(silu(gate(x)) ⊙ up(x))`.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::silu;

use crate::dense::linear;

/// `gate_proj`, `up_proj` (`d → ffn`) and `down_proj` (`ffn → d`), no biases.
#[derive(Module, Debug)]
pub struct SwiGluMlp {
    /// Gate projection.
    pub gate_proj: Linear,
    /// Up projection.
    pub up_proj: Linear,
    /// Down projection.
    pub down_proj: Linear,
}

impl SwiGluMlp {
    /// `[.., d] → [.., d]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let g = silu(linear(&self.gate_proj, x.clone()));
        linear(&self.down_proj, g * linear(&self.up_proj, x))
    }
}
