//! One BERT encoder layer (`encoder.layer.N`): bidirectional multi-head self-attention with
//! biases, then a GELU feed-forward block, each followed by a residual add and a LayerNorm
//! (post-LN, as in the original BERT).

use burn::module::Module;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::activation::gelu;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Tensor};

use crate::dense::linear;

/// `attention.self.{query,key,value}`, `attention.output.dense` and `attention.output.LayerNorm`.
#[derive(Module, Debug)]
pub struct BertAttention {
    /// Query projection `d → d` (with bias).
    pub query: Linear,
    /// Key projection `d → d` (with bias).
    pub key: Linear,
    /// Value projection `d → d` (with bias).
    pub value: Linear,
    /// Output projection `d → d` (`attention.output.dense`, with bias).
    pub output: Linear,
    /// `attention.output.LayerNorm`, applied to `output(attn) + x`.
    pub norm: LayerNorm,
    /// Number of heads (`d / heads` per head).
    pub heads: usize,
}

impl BertAttention {
    /// `x: [b, s, d]` → `LayerNorm(x + o(softmax(q·kᵀ/√h_d + mask)·v))`. `mask` is
    /// `[b, heads, s, s]` with `true` = blocked (padding keys); `None` attends everywhere.
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let [b, s, d] = x.dims();
        let (h, hd) = (self.heads, d / self.heads);
        let split = |y: Tensor<3>| y.reshape([b, s, h, hd]).swap_dims(1, 2);
        let q = split(linear(&self.query, x.clone()));
        let k = split(linear(&self.key, x.clone()));
        let v = split(linear(&self.value, x.clone()));
        let options = AttentionModuleOptions {
            scale: None, // 1/sqrt(head_dim), as BERT
            softcap: None,
            is_causal: false,
        };
        let ctx = attention(q, k, v, mask, None, options) // [b, h, s, hd]
            .swap_dims(1, 2)
            .reshape([b, s, d]);
        self.norm.forward(linear(&self.output, ctx) + x)
    }
}

/// `encoder.layer.N`: [`BertAttention`], then `intermediate.dense` + GELU, `output.dense`,
/// residual and `output.LayerNorm`.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// The self-attention block.
    pub attention: BertAttention,
    /// `intermediate.dense`: `d → intermediate_size` (with bias), followed by exact GELU.
    pub intermediate: Linear,
    /// `output.dense`: `intermediate_size → d` (with bias).
    pub output: Linear,
    /// `output.LayerNorm`, applied to `output(…) + attention_out`.
    pub norm: LayerNorm,
}

impl BertLayer {
    /// `x: [b, s, d]` → `[b, s, d]`; `mask` as for [`BertAttention::forward`].
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let a = self.attention.forward(x, mask);
        // burn's `gelu` is the exact `x·Φ(x)` (erf), which HF's "gelu" is too.
        let h = gelu(linear(&self.intermediate, a.clone()));
        self.norm.forward(linear(&self.output, h) + a)
    }
}
