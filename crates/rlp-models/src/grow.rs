//! Depth up-scaling: a deeper model that starts as an exact copy of a trained one.
//!
//! [`grow_depth`] stacks `extra` freshly initialised decoder layers on top of a trained model's
//! layers (below the final norm) with their output projections (`o_proj`, `down_proj`) set to
//! zero. Each new layer then adds nothing to the residual stream, so the grown model computes
//! exactly the function of the original until training moves those projections; the gradient
//! reaches them at once (their inputs are non-zero), and through them the rest of each new layer.
//! Used to build a judge larger than the policy from the policy's own pretraining.

use burn::module::Param;
use burn::tensor::Tensor;
use rlp_core::SeededRng;

use crate::error::Result;
use crate::model::CausalLm;

/// `model` with `extra` identity-initialised decoder layers on top (see the module docs); the
/// new layers' other weights are drawn from `rng` as [`CausalLm::init`] draws them.
pub fn grow_depth(model: CausalLm, extra: usize, rng: &mut SeededRng) -> Result<CausalLm> {
    let mut config = model.config.clone();
    config.num_hidden_layers += extra;
    let device = model.device();
    let fresh = CausalLm::init(&config, rng, &device)?;
    let mut layers = model.layers;
    for mut layer in fresh.layers.into_iter().skip(layers.len()) {
        let o = &mut layer.self_attn.o_proj.weight;
        *o = Param::from_tensor(Tensor::zeros(o.val().dims(), &device));
        let down = &mut layer.mlp.down_proj.weight;
        *down = Param::from_tensor(Tensor::zeros(down.val().dims(), &device));
        layers.push(layer);
    }
    Ok(CausalLm {
        embed_tokens: model.embed_tokens,
        layers,
        norm: model.norm,
        lm_head: model.lm_head,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LlamaConfig;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{ints, to_f32};

    #[test]
    fn grown_model_computes_the_original_function() {
        let device = test_backend().device().unwrap();
        let config = LlamaConfig::tiny(50);
        let base = CausalLm::init(&config, &mut SeededRng::new(1), &device).unwrap();
        let tokens = ints(vec![1, 5, 9, 3, 7, 2], [2, 3], &device);
        let before = to_f32(base.forward(tokens.clone(), None).logits);
        let grown = grow_depth(base, 2, &mut SeededRng::new(2)).unwrap();
        assert_eq!(grown.layers.len(), config.num_hidden_layers + 2);
        assert_eq!(grown.config.num_hidden_layers, config.num_hidden_layers + 2);
        let after = to_f32(grown.forward(tokens, None).logits);
        let max = before
            .iter()
            .zip(&after)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max < 1e-5, "grown model differs by {max}");
    }
}
