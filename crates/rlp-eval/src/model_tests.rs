//! Tests that run real (tiny) models: teacher forcing, drift and the policy evaluation.

use rlp_core::With;
use rlp_core::burn::module::{Module, Param};
use rlp_core::device::test_backend;
use rlp_core::{FnReward, RewardFn, SeededRng};
use rlp_models::{
    CausalLm, GenerationConfig, LlamaConfig, SamplingParams, TextTokenizer, generate,
};
use rlp_train::{NllTrainer, OptimConfig, collate_sft};

use crate::drift::{perplexity, perplexity_ids};
use crate::summary::{EvalConfig, evaluate_policy, evaluate_policy_detailed};
use crate::teacher_forced::{Overflow, ScoringConfig, teacher_forced_ids, teacher_forced_logprobs};

fn tiny(vocab: usize, seed: u64) -> CausalLm {
    let d = test_backend().device().unwrap();
    CausalLm::init(&LlamaConfig::tiny(vocab), &mut SeededRng::new(seed), &d).unwrap()
}

/// A model whose LM head is zero: every next-token distribution is uniform over `vocab`.
fn uniform(vocab: usize) -> CausalLm {
    let mut m = tiny(vocab, 0);
    let head = m.lm_head.as_mut().unwrap();
    head.weight = Param::from_tensor(head.weight.val().zeros_like());
    m
}

#[test]
fn teacher_forcing_matches_generation_logprobs_and_is_batch_invariant() {
    let m = tiny(32, 1);
    let prompts: Vec<Vec<u32>> = vec![vec![3, 4, 5], vec![7], vec![1, 2, 3, 4, 5, 6], vec![9, 9]];
    let mut cfg = GenerationConfig::default();
    cfg.max_new_tokens = 6;
    cfg.sampling = SamplingParams::default();
    cfg.stop_tokens = vec![31];
    cfg.use_cache = true;
    let gens = generate(&m, &prompts, 0, &cfg, &mut SeededRng::new(5)).unwrap();
    let conts: Vec<Vec<u32>> = gens.iter().map(|g| g.tokens.clone()).collect();
    let one = teacher_forced_ids(
        &m,
        &prompts,
        &conts,
        0,
        &ScoringConfig {
            batch_size: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let all = teacher_forced_ids(
        &m,
        &prompts,
        &conts,
        0,
        &ScoringConfig {
            batch_size: 3,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((one.truncated, one.skipped), (0, 0));
    for (i, g) in gens.iter().enumerate() {
        let a = one.logprobs[i].as_ref().unwrap();
        let b = all.logprobs[i].as_ref().unwrap();
        assert_eq!(a.len(), g.tokens.len());
        for ((x, y), z) in a.iter().zip(b).zip(&g.logprobs) {
            assert!((x - y).abs() < 1e-5, "batching changed row {i}: {x} vs {y}");
            assert!(
                (x - z).abs() < 1e-4,
                "row {i}: teacher-forced {x} vs generation {z}"
            );
        }
    }
}

// Golden: a uniform model gives log π = -ln V on every token, so the perplexity is exactly V.
// V = 16, corpus of lengths 3 and 2: with a BOS every token is scored (5 tokens); without,
// the first of each text is context only (3 tokens). Both give PPL = 16.
#[test]
fn uniform_model_has_perplexity_vocab_size() {
    let m = uniform(16);
    let corpus = vec![vec![1, 2, 3], vec![4, 5]];
    let with = perplexity_ids(&m, &corpus, Some(15), 0, &ScoringConfig::default()).unwrap();
    assert_eq!((with.tokens, with.texts), (5, 2));
    assert!(
        (with.ppl - 16.0).abs() < 1e-3 && (with.mean_nll - 16f64.ln()).abs() < 1e-5,
        "{with:?}"
    );
    let without = perplexity_ids(&m, &corpus, None, 0, &ScoringConfig::default()).unwrap();
    assert_eq!(without.tokens, 3);
    assert!((without.ppl - 16.0).abs() < 1e-3);
}

#[test]
fn length_limit_truncates_or_skips_with_counts() {
    let m = uniform(16);
    let prefixes = vec![vec![1, 2], vec![1, 2, 3, 4, 5], vec![1]];
    let conts = vec![vec![3, 4, 5, 6, 7, 8], vec![6], vec![2, 3]];
    let trunc = ScoringConfig {
        batch_size: 2,
        max_len: Some(5),
        overflow: Overflow::Truncate,
    };
    let t = teacher_forced_ids(&m, &prefixes, &conts, 0, &trunc).unwrap();
    assert_eq!((t.truncated, t.skipped), (1, 1));
    assert_eq!(t.logprobs[0].as_ref().unwrap().len(), 3);
    assert!(t.logprobs[1].is_none());
    assert_eq!(t.logprobs[2].as_ref().unwrap().len(), 2);
    let skip = ScoringConfig {
        overflow: Overflow::Skip,
        ..trunc
    };
    let s = teacher_forced_ids(&m, &prefixes, &conts, 0, &skip).unwrap();
    assert_eq!((s.truncated, s.skipped), (0, 2));
    assert!(s.logprobs[0].is_none() && s.logprobs[1].is_none());
    // Bad input names the argument.
    let e = teacher_forced_ids(&m, &prefixes, &conts[..1], 0, &trunc).unwrap_err();
    assert!(e.to_string().contains("`continuations` has 1"), "{e}");
    let e = teacher_forced_ids(&m, &[vec![1]], &[vec![99]], 0, &trunc).unwrap_err();
    assert!(
        e.to_string().contains("`continuations`") && e.to_string().contains("99"),
        "{e}"
    );
    let zero = ScoringConfig {
        batch_size: 0,
        ..ScoringConfig::default()
    };
    assert!(teacher_forced_ids(&m, &prefixes, &conts, 0, &zero).is_err());
    assert!(perplexity_ids(&m, &[], None, 0, &ScoringConfig::default()).is_err());
    assert!(perplexity_ids(&m, &[vec![3]], None, 0, &ScoringConfig::default()).is_err());
}

// A tiny decoder trained for 60 steps to memorise one 12-token text (after BOS) must find it
// far more likely than random 12-token texts. Measured on flex: PPL of the memorised text
// 15.3 before training → 1.000 after, random texts 25 419 after (the model is now confidently
// wrong on them). Asserted: memorised < 1.5, random > 4 × memorised, and memorised fell below
// a third of its value before training.
#[test]
fn memorised_text_has_lower_perplexity_than_random_text() {
    const V: usize = 16;
    const BOS: u32 = 15;
    let dev = test_backend().autodiff_device().unwrap();
    let mut cfg = LlamaConfig::tiny(V);
    cfg.bos_token_id = Some(BOS);
    let model = CausalLm::init(&cfg, &mut SeededRng::new(2), &dev).unwrap();
    let memo: Vec<u32> = vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
    let mut r = SeededRng::new(9);
    let random: Vec<Vec<u32>> = (0..8)
        .map(|_| (0..12).map(|_| r.below(15) as u32).collect())
        .collect();
    let sc = ScoringConfig::default();
    let before = perplexity_ids(&model.valid(), &[memo.clone()], Some(BOS), 0, &sc)
        .unwrap()
        .ppl;
    let mut trainer = NllTrainer::new(
        model,
        OptimConfig::default().with(|c| {
            c.lr = 1e-2;
            c.weight_decay = 0.0;
            c.max_grad_norm = Some(1.0);
        }),
    )
    .unwrap();
    let batch = collate_sft(&[(vec![BOS], memo.clone())], 0, 64, &dev).unwrap();
    for _ in 0..60 {
        trainer.step(&batch, 1e-2).unwrap();
    }
    let m = trainer.model.valid();
    let memo_ppl = perplexity_ids(&m, &[memo], Some(BOS), 0, &sc).unwrap().ppl;
    let rand_ppl = perplexity_ids(&m, &random, Some(BOS), 0, &sc).unwrap().ppl;
    eprintln!("perplexity: memorised {before:.3} → {memo_ppl:.3}, random {rand_ppl:.3}");
    assert!(memo_ppl < 1.5, "memorised {memo_ppl}");
    assert!(
        memo_ppl * 4.0 < rand_ppl,
        "memorised {memo_ppl} vs random {rand_ppl}"
    );
    assert!(memo_ppl < before / 3.0, "before {before}, after {memo_ppl}");
}

fn corpus() -> Vec<String> {
    (0..120)
        .map(|i| {
            format!(
                "the film number {i} was good and the music was loud {}",
                i % 7
            )
        })
        .collect()
}

#[test]
fn evaluate_policy_measures_everything_and_is_seeded() {
    let tk = TextTokenizer::train_bpe(corpus().into_iter(), 300).unwrap();
    let d = test_backend().device().unwrap();
    let mut cfg = LlamaConfig::tiny(tk.vocab_size());
    cfg.eos_token_id = tk.eos_id;
    let policy = CausalLm::init(&cfg, &mut SeededRng::new(3), &d).unwrap();
    let reference = policy.clone();
    let other = CausalLm::init(&cfg, &mut SeededRng::new(4), &d).unwrap();
    let prompts: Vec<String> = ["the film", "music was", "number 3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let gold = FnReward::new("len", |_p: &str, y: &str| {
        y.split_whitespace().count() as f32
    });
    let proxy = FnReward::new("chars", |_p: &str, y: &str| y.len() as f32);
    let ec = EvalConfig {
        samples_per_prompt: 2,
        batch_size: 4,
        max_new_tokens: 8,
        ..Default::default()
    };
    let drift = vec![
        "the film was loud".to_string(),
        "music number 5".to_string(),
    ];
    let rng = SeededRng::new(0);
    let run = evaluate_policy_detailed(
        &policy,
        &reference,
        &tk,
        &prompts,
        &gold,
        Some(&proxy),
        &drift,
        &ec,
        &rng,
    )
    .unwrap();
    let s = &run.summary;
    assert_eq!((s.n, s.prompts, run.completions.len()), (6, 3, 6));
    assert_eq!(run.completions[1].prompt, "the film");
    // Against itself the KL is exactly zero (identical teacher-forced passes).
    assert_eq!((s.kl_k1.mean, s.kl_k3.mean), (0.0, 0.0));
    let g: Vec<f64> = run
        .completions
        .iter()
        .map(|c| c.text.split_whitespace().count() as f64)
        .collect();
    assert_eq!(run.gold, g);
    assert!((s.gold.mean - g.iter().sum::<f64>() / 6.0).abs() < 1e-12);
    assert!(s.proxy.is_some() && s.drift_ppl.unwrap() > 1.0);
    assert!((0.0..=1.0).contains(&s.distinct_1) && s.self_bleu.is_some());
    // Same seeds, same summary; it round-trips through JSON.
    let again = evaluate_policy(
        &policy,
        &reference,
        &tk,
        &prompts,
        &gold,
        Some(&proxy),
        &drift,
        &ec,
        &rng,
    )
    .unwrap();
    assert_eq!(&again, s);
    let json = serde_json::to_string(s).unwrap();
    assert_eq!(
        &serde_json::from_str::<crate::EvalSummary>(&json).unwrap(),
        s
    );
    // Another reference: k3 > 0 on every sequence, so its mean is positive.
    let vs_other = evaluate_policy(
        &policy,
        &other,
        &tk,
        &prompts,
        &gold as &dyn RewardFn,
        None,
        &[],
        &ec,
        &rng,
    )
    .unwrap();
    assert!(vs_other.kl_k3.mean > 0.0 && vs_other.proxy.is_none() && vs_other.drift_ppl.is_none());
    // Text-level teacher forcing agrees with the sampled ids' count for the first response
    // (re-encoding the decoded text may merge differently, so only check it runs).
    let texts: Vec<String> = run.completions.iter().map(|c| c.text.clone()).collect();
    let tf = teacher_forced_logprobs(
        &policy,
        &tk,
        &run.completions
            .iter()
            .map(|c| c.prompt.clone())
            .collect::<Vec<_>>(),
        &texts,
        &ScoringConfig::default(),
    )
    .unwrap();
    assert_eq!(tf.logprobs.len(), 6);
    assert!(
        perplexity(&policy, &tk, &drift, &ScoringConfig::default())
            .unwrap()
            .ppl
            > 1.0
    );
    // Bad input.
    let e =
        evaluate_policy(&policy, &reference, &tk, &[], &gold, None, &[], &ec, &rng).unwrap_err();
    assert!(e.to_string().contains("`prompts`"), "{e}");
    let bad = EvalConfig {
        samples_per_prompt: 0,
        ..ec
    };
    let e = evaluate_policy(
        &policy,
        &reference,
        &tk,
        &prompts,
        &gold,
        None,
        &[],
        &bad,
        &rng,
    )
    .unwrap_err();
    assert!(e.to_string().contains("samples_per_prompt"), "{e}");
}
