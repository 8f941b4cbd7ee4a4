//! Gradient checkpointing (burn's balanced strategy, `Device::gradient_checkpointing`) changes
//! what is kept for the backward pass, not what it computes: the gradients of every parameter
//! match those of the same model on a plain autodiff device, with and without LoRA.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use rlp_core::SeededRng;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::to_f32;
use rlp_models::lora::{LoraConfig, apply_lora};
use rlp_models::{CausalLm, LlamaConfig};
use rlp_train::{collate_sft, response_nll};

/// Every float parameter's gradient, in visiting order (empty for frozen ones).
fn gradients(model: &CausalLm, grads: &GradientsParams) -> Vec<Vec<f32>> {
    struct Collect<'a> {
        grads: &'a GradientsParams,
        out: Vec<Vec<f32>>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let g = self
                .grads
                .get::<D>(param.id)
                .map(to_f32)
                .unwrap_or_default();
            self.out.push(g);
        }
    }
    let mut c = Collect {
        grads,
        out: Vec::new(),
    };
    model.visit(&mut c);
    c.out
}

fn grads_on(device: &burn::tensor::Device, lora: bool) -> Vec<Vec<f32>> {
    let mut cfg = LlamaConfig::tiny(40);
    cfg.tie_word_embeddings = false;
    let mut model = CausalLm::init(&cfg, &mut SeededRng::new(5), device).unwrap();
    if lora {
        model = apply_lora(model, &LoraConfig::default(), &mut SeededRng::new(6)).unwrap();
    }
    let examples = vec![
        (vec![1u32, 5, 9], vec![3u32, 30, 2]),
        (vec![7u32, 11, 12, 13], vec![4u32, 2]),
    ];
    let batch = collate_sft(&examples, 0, 16, device).unwrap();
    let loss = response_nll(&model, &batch);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    gradients(&model, &grads)
}

#[test]
fn checkpointing_gives_the_same_gradients() {
    let plain = test_backend().autodiff_device().unwrap();
    let checkpointed = plain.clone().gradient_checkpointing();
    for lora in [false, true] {
        let (a, b) = (grads_on(&plain, lora), grads_on(&checkpointed, lora));
        assert_eq!(a.len(), b.len());
        let mut compared = 0;
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(
                x.len(),
                y.len(),
                "parameter {i}: gradient present on one side only"
            );
            for (p, q) in x.iter().zip(y) {
                assert!(
                    (p - q).abs() <= 1e-5 + 1e-4 * p.abs(),
                    "lora {lora}, parameter {i}: {p} vs {q}"
                );
            }
            compared += usize::from(!x.is_empty());
        }
        // Full fine-tuning has a gradient for every tensor; LoRA for its factors only.
        assert!(compared > 0, "lora {lora}: no gradients compared");
    }
}
