//! The SwiGLU feed-forward block (Shazeer 2020, eq. 6): `down(silu(gate(x)) ⊙ up(x))`.

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;
use burn::tensor::activation::silu;

use crate::dense::linear_adapted;

/// `gate_proj`, `up_proj` (`d → ffn`) and `down_proj` (`ffn → d`), no biases.
#[derive(Module, Debug)]
pub struct SwiGluMlp {
    /// Gate projection.
    pub gate_proj: Linear,
    /// Up projection.
    pub up_proj: Linear,
    /// Down projection.
    pub down_proj: Linear,
    /// LoRA's dropout on the input of the projections' adapters (training only; `None` without
    /// adapters or with `lora.dropout = 0`).
    pub lora_dropout: Option<Dropout>,
}

impl SwiGluMlp {
    /// `[.., d] → [.., d]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let drop = self.lora_dropout.as_ref();
        let g = silu(linear_adapted(&self.gate_proj, x.clone(), drop));
        let u = linear_adapted(&self.up_proj, x, drop);
        linear_adapted(&self.down_proj, g * u, drop)
    }
}
