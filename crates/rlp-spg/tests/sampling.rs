//! `sample_responses` on the `synthetic` task's base policy (a fresh 2-layer, 64-wide decoder):
//! n responses per prompt, the same for a seed, independent of the other prompts; then the whole
//! RLP-SPG step (normalised-text clusters, the task's gold scorer as the reward) on them.

use rlp_core::With;
use std::time::Instant;

use rlp_core::device::test_backend;
use rlp_models::{GenerationConfig, SamplingParams};
use rlp_spg::{NormalizedTextClusterer, SpgConfig, build_pairs, sample_responses_with_progress};
use rlp_tasks::synthetic::{base_policy, synthetic};

fn generation() -> GenerationConfig {
    GenerationConfig::default().with(|c| {
        c.max_new_tokens = 6;
        c.sampling = SamplingParams::default(); // temperature 1.0, as RLP-SPG samples
    })
}

#[test]
fn n_responses_per_prompt_seeded_and_per_prompt() {
    let device = test_backend().device().unwrap();
    let task = synthetic(0);
    let base = base_policy(&task, 1, &device).unwrap();
    let prompts: Vec<String> = task.train_prompts[..4].to_vec();
    let (n, gen_cfg) = (5, generation());
    let t = Instant::now();
    let mut ticks = Vec::new();
    let a = sample_responses_with_progress(
        &base.model,
        &base.tokenizer,
        &prompts,
        n,
        &gen_cfg,
        3,
        |done, total| ticks.push((done, total)),
    )
    .unwrap();
    eprintln!("{} prompts × {n}: {:?}", prompts.len(), t.elapsed());
    assert_eq!(ticks, vec![(1, 4), (2, 4), (3, 4), (4, 4)]);
    assert_eq!(a.len(), prompts.len());
    assert!(a.iter().all(|r| r.len() == n));
    // A random tiny model at temperature 1 does not repeat itself five times.
    assert!(a.iter().any(|r| r.iter().any(|x| x != &r[0])), "{a:?}");

    let again =
        rlp_spg::sample_responses(&base.model, &base.tokenizer, &prompts, n, &gen_cfg, 3).unwrap();
    assert_eq!(a, again, "same seed, same samples");
    let other =
        rlp_spg::sample_responses(&base.model, &base.tokenizer, &prompts, n, &gen_cfg, 4).unwrap();
    assert_ne!(a, other, "another seed, other samples");
    // Prompt i's samples depend on (seed, i, prompt) only.
    let head =
        rlp_spg::sample_responses(&base.model, &base.tokenizer, &prompts[..2], n, &gen_cfg, 3)
            .unwrap();
    assert_eq!(head, a[..2].to_vec());

    let e = rlp_spg::sample_responses(&base.model, &base.tokenizer, &prompts, 0, &gen_cfg, 3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`n`"), "{e}");

    // The SPG step end to end: every prompt is accounted for, pairs have two distinct sides.
    let mut cfg = SpgConfig::default();
    cfg.n = n;
    cfg.min_confidence = 0.0;
    cfg.seed = 5;
    let (pairs, report) = build_pairs(
        &prompts,
        &a,
        &mut NormalizedTextClusterer,
        task.gold.as_ref(),
        &cfg,
    )
    .unwrap();
    eprintln!("{report}");
    assert_eq!(report.prompts, prompts.len());
    assert_eq!(report.kept + report.skipped(), report.prompts);
    assert_eq!(pairs.len(), report.kept);
    assert!(pairs.iter().all(|p| p.validate().is_ok()));
}

/// The policy's own embeddings: unit length, one width, the same batched or one by one (right
/// padding does not leak into a causal model's real tokens), the empty text embedded too.
#[test]
fn policy_embeddings_are_unit_length_and_batch_independent() {
    use rlp_spg::{Embedder, PolicyEmbedder};
    let device = test_backend().device().unwrap();
    let task = synthetic(0);
    let base = base_policy(&task, 1, &device).unwrap();
    let mut e = PolicyEmbedder::new(base.model, base.tokenizer);
    let texts = [
        " good film",
        " the city was very cold and grim",
        "",
        " good film",
    ];
    let batched = e.embed(&texts).unwrap();
    assert_eq!(batched.len(), texts.len());
    for v in &batched {
        assert_eq!(v.len(), 64);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
    assert_eq!(batched[0], batched[3]);
    for (t, b) in texts.iter().zip(&batched) {
        let single = e.embed(&[t]).unwrap().remove(0);
        let diff = single
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-4, "{t:?}: {diff}");
    }
    assert!(e.embed(&[]).unwrap().is_empty());
}
