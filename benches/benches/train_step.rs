//! One AdamW step of the benchmark decoder on a 16×64 batch (response-masked NLL over the whole
//! sequence), per CPU backend. Compare with `benches/pytorch/bench.py train`.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use rlp::core::SeededRng;
use rlp::train::{NllTrainer, OptimConfig, collate_sft};

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step_4x128_b16x64");
    group.sample_size(20);
    for spec in common::backends() {
        let device = spec.autodiff_device().unwrap();
        let mut trainer = NllTrainer::new(common::model(&device), OptimConfig::default()).unwrap();
        let mut rng = SeededRng::new(1);
        // 16 sequences of 65 tokens: a 1-token prompt and a 64-token response → 16×64 inputs.
        let batch: Vec<(Vec<u32>, Vec<u32>)> = (0..16)
            .map(|_| {
                (
                    vec![1],
                    (0..64).map(|_| 3 + rng.below(509) as u32).collect(),
                )
            })
            .collect();
        let b = collate_sft(&batch, 0, 512, &device).unwrap();
        group.bench_function(spec.to_string(), |bench| {
            bench.iter(|| trainer.step(&b, 1e-4).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
