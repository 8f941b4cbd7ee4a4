//! The decoder's forward pass over padded batches and its cached generation.

use rlp_core::SeededRng;
use rlp_core::device::test_backend;
use rlp_core::logprobs::token_logprobs;
use rlp_core::tensor_io::{floats, ints, to_f32};
use rlp_models::{CausalLm, GenerationConfig, LlamaConfig, SamplingParams, generate};

fn tiny(tied: bool) -> CausalLm {
    let d = test_backend().device().unwrap();
    let mut cfg = LlamaConfig::tiny(48);
    cfg.tie_word_embeddings = tied;
    cfg.eos_token_id = Some(2);
    // Larger init than the default so greedy paths are not near-ties.
    let mut m = CausalLm::init(&cfg, &mut SeededRng::new(3), &d).unwrap();
    let w = m.embed_tokens.weight.val() * 20.0;
    m.embed_tokens.weight = burn::module::Param::from_tensor(w);
    m
}

#[test]
fn left_padding_does_not_change_real_positions() {
    let m = tiny(false);
    let d = m.device();
    let alone = to_f32(m.forward(ints(vec![5, 6, 7], [1, 3], &d), None).logits);
    let padded = m.forward(
        ints(vec![0, 0, 5, 6, 7], [1, 5], &d),
        Some(floats(vec![0., 0., 1., 1., 1.], [1, 5], &d)),
    );
    let padded = to_f32(padded.logits);
    let v = 48;
    for (a, b) in alone.iter().zip(&padded[2 * v..]) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

#[test]
fn forward_shapes_and_finite() {
    let m = tiny(true);
    let d = m.device();
    let out = m.forward(ints((0..12).collect(), [2, 6], &d), None);
    assert_eq!(out.logits.dims(), [2, 6, 48]);
    assert_eq!(out.hidden.dims(), [2, 6, 64]);
    assert!(to_f32(out.logits).iter().all(|x| x.is_finite()));
}

fn prompts() -> Vec<Vec<u32>> {
    vec![vec![4, 9, 11], vec![7], vec![3, 5, 8, 13, 21]]
}

#[test]
fn greedy_with_cache_equals_recomputing_the_prefix() {
    for tied in [false, true] {
        let m = tiny(tied);
        let mut cfg = GenerationConfig::default();
        cfg.max_new_tokens = 12;
        cfg.sampling = SamplingParams::greedy();
        cfg.stop_tokens = vec![];
        cfg.use_cache = true;
        let cached = generate(&m, &prompts(), 0, &cfg, &mut SeededRng::new(0)).unwrap();
        cfg.use_cache = false;
        let full = generate(&m, &prompts(), 0, &cfg, &mut SeededRng::new(0)).unwrap();
        for (a, b) in cached.iter().zip(&full) {
            assert_eq!(a.tokens, b.tokens);
            assert_eq!(a.finished, b.finished);
            for (x, y) in a.logprobs.iter().zip(&b.logprobs) {
                assert!((x - y).abs() < 1e-4);
            }
        }
        assert!(cached.iter().any(|g| g.tokens.len() > 1));
    }
}

#[test]
fn returned_logprobs_equal_a_fresh_forward_pass() {
    let m = tiny(false);
    let d = m.device();
    let mut cfg = GenerationConfig::default();
    cfg.max_new_tokens = 10;
    cfg.sampling = SamplingParams::default();
    cfg.sampling.temperature = 1.3;
    cfg.sampling.top_k = Some(20);
    cfg.sampling.top_p = Some(0.9);
    cfg.stop_tokens = vec![];
    cfg.use_cache = true;
    let gens = generate(&m, &prompts(), 0, &cfg, &mut SeededRng::new(42)).unwrap();
    for (p, g) in prompts().iter().zip(&gens) {
        let full: Vec<i64> = p.iter().chain(&g.tokens).map(|&t| t as i64).collect();
        let n = full.len();
        let logits = m
            .forward(ints(full[..n - 1].to_vec(), [1, n - 1], &d), None)
            .logits;
        let lp = to_f32(token_logprobs(
            logits,
            ints(full[1..].to_vec(), [1, n - 1], &d),
        ));
        let fresh = &lp[p.len() - 1..];
        assert_eq!(fresh.len(), g.logprobs.len());
        for (a, b) in fresh.iter().zip(&g.logprobs) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}

#[test]
fn sampling_is_deterministic_under_a_seed_and_stops_on_eos() {
    let m = tiny(false);
    let mut cfg = GenerationConfig::default();
    cfg.max_new_tokens = 16;
    let a = generate(&m, &prompts(), 0, &cfg, &mut SeededRng::new(5)).unwrap();
    let b = generate(&m, &prompts(), 0, &cfg, &mut SeededRng::new(5)).unwrap();
    let c = generate(&m, &prompts(), 0, &cfg, &mut SeededRng::new(6)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let mut stop = cfg;
    stop.stop_tokens = (0..48).collect();
    let s = generate(&m, &prompts(), 0, &stop, &mut SeededRng::new(5)).unwrap();
    assert!(s.iter().all(|g| g.finished && g.tokens.len() == 1));
}

#[test]
fn bad_prompts_are_errors() {
    let m = tiny(false);
    let cfg = GenerationConfig::default();
    let r = &mut SeededRng::new(0);
    assert!(
        generate(&m, &[vec![]], 0, &cfg, r)
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    assert!(
        generate(&m, &[vec![999]], 0, &cfg, r)
            .unwrap_err()
            .to_string()
            .contains("vocab_size")
    );
    let long = vec![vec![1u32; 250]];
    let e = generate(&m, &long, 0, &cfg, r).unwrap_err().to_string();
    assert!(e.contains("context window of 256"), "{e}");
}
