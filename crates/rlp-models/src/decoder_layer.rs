//! One pre-norm Llama decoder layer:
//! `h = x + attn(norm₁(x))`, `out = h + mlp(norm₂(h))`.

use burn::module::Module;
use burn::nn::RmsNorm;
use burn::tensor::{Bool, Tensor};

use crate::attention::Attention;
use crate::cache::KvCache;
use crate::mlp::SwiGluMlp;
use crate::rope::RopeTables;

/// `input_layernorm`, `self_attn`, `post_attention_layernorm`, `mlp`.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// RMSNorm before attention.
    pub input_layernorm: RmsNorm,
    /// Grouped-query self-attention.
    pub self_attn: Attention,
    /// RMSNorm before the MLP.
    pub post_attention_layernorm: RmsNorm,
    /// SwiGLU MLP.
    pub mlp: SwiGluMlp,
}

impl DecoderLayer {
    /// `[b, t, d] → [b, t, d]`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeTables,
        mask: Option<Tensor<4, Bool>>,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let h = x.clone()
            + self
                .self_attn
                .forward(self.input_layernorm.forward(x), rope, mask, cache);
        h.clone() + self.mlp.forward(self.post_attention_layernorm.forward(h))
    }
}
