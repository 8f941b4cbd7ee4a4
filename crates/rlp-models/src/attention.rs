//! Grouped-query self-attention with rotary embeddings and an optional KV cache
//! (Ainslie et al. 2023; Llama's `self_attn`).

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Tensor};

use crate::cache::KvCache;
use crate::dense::linear_adapted;
use crate::rope::{RopeTables, apply_rope};

/// `q_proj`, `k_proj`, `v_proj`, `o_proj` (no biases), `heads` query heads sharing `kv_heads`
/// key/value heads.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection `d → heads·head_dim`.
    pub q_proj: Linear,
    /// Key projection `d → kv_heads·head_dim`.
    pub k_proj: Linear,
    /// Value projection `d → kv_heads·head_dim`.
    pub v_proj: Linear,
    /// Output projection `heads·head_dim → d`.
    pub o_proj: Linear,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// LoRA's dropout on the input of the projections' adapters (training only; `None` without
    /// adapters or with `lora.dropout = 0`).
    pub lora_dropout: Option<Dropout>,
}

impl Attention {
    /// `x: [b, t, d]` → `[b, t, d]`. With `mask = None` the attention is plainly causal (no
    /// padding inside the sequence, or right padding only). With a cache, the new keys/values are
    /// appended to layer `layer` and attention runs over everything cached.
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeTables,
        mask: Option<Tensor<4, Bool>>,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, kvh, hd) = (self.heads, self.kv_heads, self.head_dim);
        let split = |y: Tensor<3>, n: usize| y.reshape([b, t, n, hd]).swap_dims(1, 2);
        let drop = self.lora_dropout.as_ref();
        let linear = |l: &Linear, x: Tensor<3>| linear_adapted(l, x, drop);
        let q = apply_rope(split(linear(&self.q_proj, x.clone()), h), rope);
        let k = apply_rope(split(linear(&self.k_proj, x.clone()), kvh), rope);
        let v = split(linear(&self.v_proj, x), kvh);
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, k, v),
            None => (k, v),
        };
        let (k, v) = (self.repeat_kv(k), self.repeat_kv(v));
        let options = AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: mask.is_none(),
        };
        let out = attention(q, k, v, mask, None, options); // [b, h, t, hd]
        linear(&self.o_proj, out.swap_dims(1, 2).reshape([b, t, h * hd]))
    }

    /// Repeats each key/value head `heads / kv_heads` times: `[b, kvh, t, hd] → [b, h, t, hd]`.
    fn repeat_kv(&self, x: Tensor<4>) -> Tensor<4> {
        let rep = self.heads / self.kv_heads;
        if rep == 1 {
            return x;
        }
        let [b, kvh, t, hd] = x.dims();
        x.unsqueeze_dim::<5>(2)
            .expand([b, kvh, rep, t, hd])
            .reshape([b, kvh * rep, t, hd])
    }
}
