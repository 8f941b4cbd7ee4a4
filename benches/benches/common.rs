//! Shared setup of the criterion benches: the CPU backends compiled in, and the benchmark model.
#![allow(dead_code)]

use rlp::core::{BackendSpec, SeededRng};
use rlp::models::{CausalLm, LlamaConfig};

/// The benchmark decoder: 4 layers, d = 128, 4 heads (2 KV), FFN 344, vocab 512 — the
/// configuration `benches/pytorch/bench.py` mirrors.
pub fn bench_config() -> LlamaConfig {
    let mut c = LlamaConfig::new(512, 128, 344, 4, 4, 2, 512);
    c.eos_token_id = Some(2);
    c
}

/// CPU backends to compare (flex, ndarray), or only `RLP_BENCH_BACKEND` when set.
pub fn backends() -> Vec<BackendSpec> {
    match std::env::var("RLP_BENCH_BACKEND") {
        Ok(s) if !s.is_empty() => vec![s.parse().expect("RLP_BENCH_BACKEND")],
        _ => BackendSpec::compiled()
            .into_iter()
            .filter(|b| matches!(b, BackendSpec::Flex | BackendSpec::NdArray))
            .collect(),
    }
}

/// A seeded benchmark model on `device`.
pub fn model(device: &rlp::core::burn::tensor::Device) -> CausalLm {
    CausalLm::init(&bench_config(), &mut SeededRng::new(0), device).unwrap()
}
