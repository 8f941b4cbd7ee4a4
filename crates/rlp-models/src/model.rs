//! The Llama-architecture causal language model: token embedding, `N` decoder layers, final
//! RMSNorm, and an LM head (tied to the embedding or separate).

use burn::module::Module;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::{Device, Int, Tensor};
use rlp_core::SeededRng;

use crate::attention::Attention;
use crate::cache::KvCache;
use crate::config::LlamaConfig;
use crate::decoder_layer::DecoderLayer;
use crate::error::Result;
use crate::init;
use crate::mask::{attention_mask, positions_from_mask};
use crate::mlp::SwiGluMlp;
use crate::rope::rope_tables;

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct LmOutput {
    /// Next-token logits `[batch, time, vocab]`.
    pub logits: Tensor<3>,
    /// Final hidden states after the last norm `[batch, time, d]` (what heads read).
    pub hidden: Tensor<3>,
}

/// A Llama-style decoder (`LlamaForCausalLM`).
#[derive(Module, Debug)]
pub struct CausalLm {
    /// `model.embed_tokens`.
    pub embed_tokens: Embedding,
    /// `model.layers.N`.
    pub layers: Vec<DecoderLayer>,
    /// `model.norm`.
    pub norm: RmsNorm,
    /// `lm_head` (`[d, vocab]` in burn's layout); `None` when tied to the embedding.
    pub lm_head: Option<Linear>,
    /// The configuration the model was built from.
    #[module(skip)]
    pub config: LlamaConfig,
}

impl CausalLm {
    /// A freshly initialised model. Weights are `N(0, 0.02²)` (GPT-2 / Llama init), the output
    /// projections of each block scaled by `1/sqrt(2·layers)`, all drawn from `rng` on the host,
    /// so a seed fixes the model on every backend.
    pub fn init(config: &LlamaConfig, rng: &mut SeededRng, device: &Device) -> Result<Self> {
        config.validate("config")?;
        let d = config.hidden_size;
        let (h, kvh, hd) = (
            config.num_attention_heads,
            config.kv_heads(),
            config.head_dim(),
        );
        let std = 0.02;
        let out_std = std / (2.0 * config.num_hidden_layers as f64).sqrt();
        let embed_tokens = init::embedding(rng, config.vocab_size, d, std, device);
        let layers = (0..config.num_hidden_layers)
            .map(|_| DecoderLayer {
                input_layernorm: init::rms_norm_ones(d, config.rms_norm_eps, device),
                self_attn: Attention {
                    q_proj: init::linear(rng, d, h * hd, std, device),
                    k_proj: init::linear(rng, d, kvh * hd, std, device),
                    v_proj: init::linear(rng, d, kvh * hd, std, device),
                    o_proj: init::linear(rng, h * hd, d, out_std, device),
                    heads: h,
                    kv_heads: kvh,
                    head_dim: hd,
                    lora_dropout: None,
                },
                post_attention_layernorm: init::rms_norm_ones(d, config.rms_norm_eps, device),
                mlp: SwiGluMlp {
                    gate_proj: init::linear(rng, d, config.intermediate_size, std, device),
                    up_proj: init::linear(rng, d, config.intermediate_size, std, device),
                    down_proj: init::linear(rng, config.intermediate_size, d, out_std, device),
                    lora_dropout: None,
                },
            })
            .collect();
        let lm_head = (!config.tie_word_embeddings)
            .then(|| init::linear(rng, d, config.vocab_size, std, device));
        Ok(Self {
            embed_tokens,
            layers,
            norm: init::rms_norm_ones(d, config.rms_norm_eps, device),
            lm_head,
            config: config.clone(),
        })
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.embed_tokens.weight.val().device()
    }

    /// Forward over a batch. `mask` is `[batch, time]` with 1 for real tokens; pass `None` when
    /// there is no padding, or padding only on the right (causal attention already keeps real
    /// tokens from seeing it) — that takes the fused causal kernel.
    pub fn forward(&self, tokens: Tensor<2, Int>, mask: Option<Tensor<2>>) -> LmOutput {
        let hidden = self.hidden_states(tokens, mask);
        let logits = self.lm_logits(hidden.clone());
        LmOutput { logits, hidden }
    }

    /// One cached step: `tokens` `[batch, new]` at float `positions` `[batch, new]`, where
    /// `key_mask` `[batch, cached + new]` marks real tokens over everything the cache will hold.
    pub fn forward_cached(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2>,
        key_mask: Tensor<2>,
        cache: &mut KvCache,
    ) -> LmOutput {
        let [_, t] = tokens.dims();
        let device = tokens.device();
        let mask = attention_mask(key_mask, t, self.config.num_attention_heads, &device);
        let out = self.run(tokens, positions, Some(mask), Some(cache));
        cache.len += t;
        out
    }

    /// [`Self::forward_cached`], returning only the last position's logits `[batch, vocab]`:
    /// what generation needs, without the LM head's cost at the other positions.
    pub fn forward_cached_last(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2>,
        key_mask: Tensor<2>,
        cache: &mut KvCache,
    ) -> Tensor<2> {
        let [b, t] = tokens.dims();
        let device = tokens.device();
        let mask = attention_mask(key_mask, t, self.config.num_attention_heads, &device);
        let hidden = self.hidden(tokens, positions, Some(mask), Some(cache));
        cache.len += t;
        let d = self.config.hidden_size;
        self.lm_logits(hidden.slice([0..b, t - 1..t, 0..d]))
            .reshape([b, self.config.vocab_size])
    }

    /// Final (normed) hidden states `[b, t, d]` of a batch, without the LM head: what scalar
    /// heads read. `mask` as for [`Self::forward`] (`None` for right padding).
    pub fn hidden_states(&self, tokens: Tensor<2, Int>, mask: Option<Tensor<2>>) -> Tensor<3> {
        let [b, t] = tokens.dims();
        let device = tokens.device();
        let positions = match &mask {
            Some(m) => positions_from_mask(m.clone()),
            None => Tensor::<1, Int>::arange(0..t as i64, &device)
                .float()
                .reshape([1, t])
                .expand([b, t]),
        };
        let attn_mask =
            mask.map(|m| attention_mask(m, t, self.config.num_attention_heads, &device));
        self.hidden(tokens, positions, attn_mask, None)
    }

    fn run(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2>,
        mask: Option<Tensor<4, burn::tensor::Bool>>,
        cache: Option<&mut KvCache>,
    ) -> LmOutput {
        let hidden = self.hidden(tokens, positions, mask, cache);
        let logits = self.lm_logits(hidden.clone());
        LmOutput { logits, hidden }
    }

    /// Final (normed) hidden states `[b, t, d]`.
    fn hidden(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2>,
        mask: Option<Tensor<4, burn::tensor::Bool>>,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let device = tokens.device();
        let rope = rope_tables(
            positions,
            self.config.head_dim(),
            self.config.rope_theta,
            &device,
        );
        let mut x = self.embed_tokens.forward(tokens);
        for (i, layer) in self.layers.iter().enumerate() {
            let c = cache.as_deref_mut().map(|c| (c, i));
            x = layer.forward(x, &rope, mask.clone(), c);
        }
        self.norm.forward(x)
    }

    /// Logits from final hidden states `[b, t, d] → [b, t, vocab]`.
    pub fn lm_logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => crate::dense::linear(head, hidden),
            None => crate::dense::times_transposed(hidden, self.embed_tokens.weight.val()),
        }
    }

    /// A fresh cache sized for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.layers.len())
    }

    /// Total number of scalar parameters.
    pub fn param_count(&self) -> usize {
        self.num_params()
    }
}
