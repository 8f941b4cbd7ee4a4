//! Generation throughput of the benchmark decoder: batch 8, 16-token prompts, 64 new tokens,
//! greedy, with and without the KV cache, per CPU backend. Criterion reports time per call;
//! tokens/s = 8·64 / time. Compare with `benches/pytorch/bench.py generate`.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rlp::core::SeededRng;
use rlp::models::{GenerationConfig, SamplingParams, generate};

fn generation(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate_4x128_b8_p16_n64");
    group.sample_size(10);
    group.throughput(Throughput::Elements(8 * 64));
    for spec in common::backends() {
        let device = spec.device().unwrap();
        let model = common::model(&device);
        let mut rng = SeededRng::new(2);
        let prompts: Vec<Vec<u32>> = (0..8)
            .map(|_| (0..16).map(|_| 3 + rng.below(509) as u32).collect())
            .collect();
        for use_cache in [true, false] {
            let mut cfg = GenerationConfig::default();
            cfg.max_new_tokens = 64;
            cfg.sampling = SamplingParams::greedy();
            cfg.stop_tokens = vec![u32::MAX]; // never stop early: always 64 tokens
            cfg.use_cache = use_cache;
            let name = format!("{spec}/{}", if use_cache { "kv_cache" } else { "no_cache" });
            group.bench_function(name, |bench| {
                bench.iter(|| generate(&model, &prompts, 0, &cfg, &mut SeededRng::new(0)).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
