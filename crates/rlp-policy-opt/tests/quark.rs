//! Quark (Lu et al., NeurIPS 2022): the quantile partition (handmade pools and a property test),
//! the reward tokens as the trainer grows them, golden values of the loss, bad configurations,
//! and a learning test on the `synthetic` task (a 40-word world whose gold reward is the net
//! share of good words): from a word writer, a few exploration phases and training steps make
//! generations conditioned on the best reward token score well above those conditioned on the
//! worst, and above the start; the frozen initial model does not change. Seeded: the numbers
//! are the same on every run of a backend on one machine (the CPU's float kernels can change
//! them across machines).

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use proptest::prelude::*;
use rlp_core::With;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::{floats, ints, to_f32};
use rlp_core::{FnReward, RewardFn, SeededRng};
use rlp_models::{CausalLm, GenerationConfig, SamplingParams, TextTokenizer};
use rlp_policy_opt::quark::{
    DataPool, PoolSample, QuarkConfig, QuarkTrainer, quantize, quark_loss, reward_token,
};
use rlp_tasks::synthetic::{base_policy, gold_score, synthetic, word_writer};

// ---------------------------------------------------------------------------------------------
// 1. Quantile partition.

/// Ten distinct rewards, K = 5: ranks 0…9 go to quantile ⌊5i/10⌋ = ⌊i/2⌋, so the quantile of
/// reward x (which has rank 10x) is ⌊5x⌋: 0.9→4, 0.1→0, 0.5→2, 0.3→1, 0.7→3, 0.2→1, 0.8→4,
/// 0.0→0, 0.6→3, 0.4→2; two per quantile, ranges [0, .1], [.2, .3], [.4, .5], [.6, .7], [.8, .9].
#[test]
fn ten_rewards_make_five_pairs_in_order() {
    let r = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.0, 0.6, 0.4];
    let q = quantize(&r, 5).unwrap();
    assert_eq!(q.assignment, vec![4, 0, 2, 1, 3, 1, 4, 0, 3, 2]);
    assert_eq!(q.bounds.sizes, vec![2; 5]);
    assert_eq!(q.bounds.lower, vec![0.0, 0.2, 0.4, 0.6, 0.8]);
    assert_eq!(q.bounds.upper, vec![0.1, 0.3, 0.5, 0.7, 0.9]);
}

/// Ties are split by pool order. Rewards [1,1,1,1,1,0,0,0,0,0]: the stable ascending order is
/// samples 5,6,7,8,9 (the zeros) then 0,1,2,3,4 (the ones), ranks 0…9, quantile ⌊rank/2⌋:
/// samples 5,6 → 0; 7,8 → 1; 9 and 0 → 2 (a 0 and a 1 share quantile 2); 1,2 → 3; 3,4 → 4.
#[test]
fn ties_are_split_by_pool_order() {
    let r = [1., 1., 1., 1., 1., 0., 0., 0., 0., 0.];
    let q = quantize(&r, 5).unwrap();
    assert_eq!(q.assignment, vec![2, 3, 3, 4, 4, 0, 0, 1, 1, 2]);
    assert_eq!(q.bounds.lower, vec![0., 0., 0., 1., 1.]);
    assert_eq!(q.bounds.upper, vec![0., 0., 1., 1., 1.]);
    // All equal: pure pool order, ⌊5i/10⌋.
    let q = quantize(&[0.5; 10], 5).unwrap();
    assert_eq!(q.assignment, vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
}

/// n = 7, K = 5: rank r goes to ⌊5r/7⌋ = 0, 0, 1, 2, 2, 3, 4 for r = 0…6, sizes [2, 1, 2, 1, 1]
/// (the two extra samples spread, not piled at one end). The rewards [6,5,4,3,2,1,0] have rank
/// 6−i, so the assignment in pool order is [4, 3, 2, 2, 1, 0, 0]. n = K gives one per quantile;
/// n < K, K = 0 and a NaN are errors naming the culprit.
#[test]
fn remainders_and_small_pools() {
    let q = quantize(&[6., 5., 4., 3., 2., 1., 0.], 5).unwrap();
    assert_eq!(q.assignment, vec![4, 3, 2, 2, 1, 0, 0]);
    assert_eq!(q.bounds.sizes, vec![2, 1, 2, 1, 1]);
    let q = quantize(&[3., 1., 2.], 3).unwrap();
    assert_eq!(q.assignment, vec![2, 0, 1]);
    let err = |r: &[f32], k| quantize(r, k).unwrap_err().to_string();
    assert!(
        err(&[1., 2., 3.], 5).contains("`pool`"),
        "{}",
        err(&[1., 2., 3.], 5)
    );
    assert!(err(&[], 5).contains("`pool`"));
    assert!(err(&[1., 2.], 0).contains("`num_quantiles`"));
    assert!(err(&[1., f32::NAN, 3.], 2).contains("`rewards`"));
}

fn sample(reward: f32) -> PoolSample {
    PoolSample {
        prompt: "p".into(),
        prompt_ids: vec![1],
        response: "y".into(),
        response_ids: vec![2],
        reward,
        phase: 0,
    }
}

/// The pool's partition goes stale when samples arrive and is recomputed over the whole pool:
/// a sample that was in the top quantile drops when better samples come.
#[test]
fn pool_requantises_everything() {
    let mut pool = DataPool::new(2);
    pool.extend([0.5, 0.1].map(sample));
    assert!(pool.quantiles().is_none());
    pool.quantize().unwrap();
    assert_eq!(pool.quantile_of(0), Some(1)); // 0.5 is the better half of {0.5, 0.1}
    pool.extend([0.9, 0.8].map(sample));
    assert_eq!(pool.quantile_of(0), None);
    // {0.5, 0.1, 0.9, 0.8}: ranks 1, 0, 3, 2 → quantiles ⌊2r/4⌋ = 0, 0, 1, 1.
    assert_eq!(pool.quantize().unwrap().assignment, vec![0, 0, 1, 1]);
    assert_eq!(pool.len(), 4);
    assert!((pool.mean_reward() - 0.575).abs() < 1e-6);
}

proptest! {
    // No failure-persistence file: an integration test has no lib.rs for proptest to find.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    /// Every sample gets exactly one quantile in 0…K−1, the sizes (which count the assignment)
    /// differ by at most one, quantiles are monotone in reward, and the reward ranges of
    /// consecutive quantiles do not overlap. Rewards come from a small set so that ties are common.
    #[test]
    fn partition_properties(
        k in 1usize..9,
        extra in 0usize..60,
        levels in prop::collection::vec(0u8..6, 60 + 9),
        scale in prop::sample::select(vec![0.1f32, 1.0, 7.5]),
    ) {
        let n = k + extra;
        let r: Vec<f32> = levels[..n].iter().map(|&l| l as f32 * scale).collect();
        let q = quantize(&r, k).unwrap();
        prop_assert_eq!(q.assignment.len(), n);
        prop_assert!(q.assignment.iter().all(|&a| a < k));
        let mut counts = vec![0usize; k];
        for &a in &q.assignment {
            counts[a] += 1;
        }
        prop_assert_eq!(&counts, &q.bounds.sizes);
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "sizes {:?}", counts);
        prop_assert!(*lo >= 1);
        for i in 0..n {
            for j in 0..n {
                if r[i] < r[j] {
                    prop_assert!(q.assignment[i] <= q.assignment[j]);
                }
            }
        }
        for w in 0..k - 1 {
            prop_assert!(q.bounds.upper[w] <= q.bounds.lower[w + 1]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Loss golden values.

/// One row, three response positions, V = 3 original ids plus one reward-token column (index 3)
/// that the loss must ignore; position 2 is padding (mask 0) with arbitrary logits.
///
/// Position 0: policy logits [0, ln 2, ln 3 | 5] → π = [1/6, 2/6, 3/6] over the original ids;
/// π₀ logits [0, 0, 0] → π₀ = [1/3, 1/3, 1/3]; target id 2.
///   NLL = −ln(1/2) = 0.693147;
///   H = −(1/6 ln 1/6 + 1/3 ln 1/3 + 1/2 ln 1/2) = 0.298627 + 0.366204 + 0.346574 = 1.011404;
///   KL = Σ π ln(π/π₀) = −H + ln 3 = −1.011404 + 1.098612 = 0.087208;
///   ℓ₀ = 0.693147 + 0.05·0.087208 − 0.06·1.011404 = 0.636823.
/// Position 1: policy logits [1, 0, 0 | −2] → π = [e, 1, 1]/(e + 2) = [0.576117, 0.211942,
/// 0.211942]; π₀ logits [0, ln 2, 0] → π₀ = [1/4, 1/2, 1/4]; target id 0.
///   NLL = ln(e + 2) − 1 = 0.551445;
///   H = −Σ π ln π = 0.975328;
///   KL = 0.576117·ln(2.304468) + 0.211942·ln(0.423883) + 0.211942·ln(0.847767) = 0.264060;
///   ℓ₁ = 0.551445 + 0.05·0.264060 − 0.06·0.975328 = 0.506128.
/// Token means over the two real positions: loss (0.636823 + 0.506128)/2 = 0.571476,
/// NLL 0.622296, KL 0.175634, H 0.993366.
#[test]
fn golden_loss_on_a_hand_made_distribution() {
    let d = test_backend().device().unwrap();
    let (l2, l3) = (2f32.ln(), 3f32.ln());
    let run = |reward_cols: [f32; 3], beta: f64, alpha: f64| {
        let policy = vec![
            0.0,
            l2,
            l3,
            reward_cols[0], //
            1.0,
            0.0,
            0.0,
            reward_cols[1], //
            9.0,
            -4.0,
            2.0,
            reward_cols[2],
        ];
        let reference = vec![0.0, 0.0, 0.0, 0.0, l2, 0.0, 3.0, 1.0, -1.0];
        quark_loss(
            floats(policy, [1, 3, 4], &d),
            floats(reference, [1, 3, 3], &d),
            ints(vec![2, 0, 1], [1, 3], &d),
            floats(vec![1.0, 1.0, 0.0], [1, 3], &d),
            beta,
            alpha,
        )
    };
    let (loss, s) = run([5.0, -2.0, 0.0], 0.05, 0.06);
    let value = to_f32(loss)[0] as f64;
    for (got, want) in [
        (value, 0.571476),
        (s.loss, 0.571476),
        (s.nll, 0.622296),
        (s.kl, 0.175634),
        (s.entropy, 0.993366),
    ] {
        assert!((got - want).abs() < 1e-5, "{got} vs {want} ({s:?})");
    }
    // The reward-token column carries no mass: changing it changes nothing.
    let (_, other) = run([-30.0, 40.0, 7.0], 0.05, 0.06);
    assert!((other.loss - s.loss).abs() < 1e-6, "{other:?} vs {s:?}");
    // β = α = 0 leaves the NLL; β = 1, α = 0 adds the whole KL: 0.622296 + 0.175634 = 0.797930.
    let (_, nll_only) = run([5.0, -2.0, 0.0], 0.0, 0.0);
    assert!((nll_only.loss - 0.622296).abs() < 1e-5);
    let (_, with_kl) = run([5.0, -2.0, 0.0], 1.0, 0.0);
    assert!((with_kl.loss - 0.797930).abs() < 1e-5);
}

/// KL(π‖π₀) = 0 and the loss is NLL − α·H when π (renormalised over the original ids) equals π₀,
/// whatever the reward-token logits; a uniform π over V = 3 has H = ln 3 = 1.098612.
#[test]
fn kl_vanishes_when_the_renormalised_policy_is_the_reference() {
    let d = test_backend().device().unwrap();
    let policy = floats(vec![0.3, 0.3, 0.3, 12.0], [1, 1, 4], &d);
    let reference = floats(vec![-1.0, -1.0, -1.0], [1, 1, 3], &d);
    let (_, s) = quark_loss(
        policy,
        reference,
        ints(vec![1], [1, 1], &d),
        floats(vec![1.0], [1, 1], &d),
        0.05,
        0.06,
    );
    assert!(s.kl.abs() < 1e-6, "{s:?}");
    assert!((s.entropy - 3f64.ln()).abs() < 1e-5);
    assert!((s.loss - (3f64.ln() - 0.06 * 3f64.ln())).abs() < 1e-5);
}

// ---------------------------------------------------------------------------------------------
// 5. Bad configurations.

#[test]
fn bad_configs_are_errors_naming_the_field() {
    let cases: Vec<(&str, QuarkConfig)> = vec![
        (
            "num_quantiles",
            QuarkConfig::default().with(|c| c.num_quantiles = 1),
        ),
        ("kl_beta", QuarkConfig::default().with(|c| c.kl_beta = -0.1)),
        (
            "kl_beta",
            QuarkConfig::default().with(|c| c.kl_beta = f64::NAN),
        ),
        (
            "entropy_alpha",
            QuarkConfig::default().with(|c| c.entropy_alpha = f64::INFINITY),
        ),
        ("lr", QuarkConfig::default().with(|c| c.lr = 0.0)),
        (
            "weight_decay",
            QuarkConfig::default().with(|c| c.weight_decay = -1.0),
        ),
        (
            "max_grad_norm",
            QuarkConfig::default().with(|c| c.max_grad_norm = Some(0.0)),
        ),
        (
            "batch_size",
            QuarkConfig::default().with(|c| c.batch_size = 0),
        ),
        (
            "steps_per_phase",
            QuarkConfig::default().with(|c| c.steps_per_phase = 0),
        ),
        (
            "max_new_tokens",
            QuarkConfig::default().with(|c| c.max_new_tokens = 0),
        ),
        (
            "samples_per_phase",
            QuarkConfig::default().with(|c| {
                c.num_quantiles = 5;
                c.samples_per_phase = 4;
            }),
        ),
    ];
    for (field, config) in cases {
        let e = config.validate().unwrap_err().to_string();
        assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
    }
    QuarkConfig::default().validate().unwrap();
    let d: QuarkConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(
        (d.num_quantiles, d.kl_beta, d.entropy_alpha),
        (5, 0.05, 0.06)
    );
    let e = serde_json::from_str::<QuarkConfig>(r#"{"kl_coef": 0.05}"#).unwrap_err();
    assert!(e.to_string().contains("kl_coef"), "{e}");

    // The trainer checks the config, the device and the tokenizer/model sizes.
    let task = synthetic(0);
    let plain = test_backend().device().unwrap();
    let base = base_policy(&task, 0, &plain).unwrap();
    let ad = test_backend().autodiff_device().unwrap();
    let model = base_policy(&task, 0, &ad).unwrap().model;
    let gold = || Box::new(FnReward::new("gold", |_p: &str, y: &str| gold_score(y)));
    let err = |r: Result<QuarkTrainer, rlp_policy_opt::PolicyError>| {
        r.err().expect("an error").to_string()
    };
    let e = err(QuarkTrainer::new(
        base.model.clone(),
        base.tokenizer.clone(),
        gold(),
        QuarkConfig::default(),
    ));
    assert!(e.contains("autodiff"), "{e}");
    let e = err(QuarkTrainer::new(
        model.clone(),
        base.tokenizer.clone(),
        gold(),
        QuarkConfig::default().with(|c| c.entropy_alpha = -1.0),
    ));
    assert!(e.contains("`entropy_alpha`"), "{e}");
    let mut small = base.tokenizer.clone();
    small = rlp_models::add_special_tokens(&small, &["<|x|>".into()])
        .unwrap()
        .0;
    let e = err(QuarkTrainer::new(
        model,
        small,
        gold(),
        QuarkConfig::default(),
    ));
    assert!(e.contains("tokenizer/model mismatch"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// 2 (trainer side) and 4: the reward tokens as the trainer grows them, and learning.

/// Every float parameter, flattened, in visiting order.
fn params(model: &CausalLm) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let n = t.dims().iter().product::<usize>();
            self.0.push(to_f32(t.reshape([n])));
        }
    }
    let mut c = Collect(Vec::new());
    model.valid().visit(&mut c);
    c.0
}

fn gold() -> Box<dyn RewardFn> {
    Box::new(FnReward::new("synthetic-gold", |_p: &str, y: &str| {
        gold_score(y)
    }))
}

/// Mean gold of `reps` samples per eval prompt conditioned on quantile `k`'s token
/// (temperature 1, seeded).
fn conditioned_gold(
    quark: &QuarkTrainer,
    prompts: &[String],
    k: usize,
    reps: usize,
    seed: u64,
) -> f64 {
    let mut generation = GenerationConfig::default();
    generation.max_new_tokens = 16;
    generation.sampling = SamplingParams::default();
    let mut rng = SeededRng::new(seed);
    let mut all = Vec::new();
    for _ in 0..reps {
        let out = quark
            .generate_conditioned(prompts, k, &generation, &mut rng)
            .unwrap();
        assert!(
            out.iter()
                .flat_map(|c| &c.tokens)
                .all(|&t| (t as usize) < quark.original_vocab_size()),
            "a reward token was generated"
        );
        all.extend(out.iter().map(|c| gold_score(&c.text) as f64));
    }
    all.iter().sum::<f64>() / all.len() as f64
}

/// The trainer's vocabulary: K = 5 reward tokens with ids V … V+4, encoded and decoded as
/// themselves, model and tokenizer the same size, π₀ on the original V; the grown policy's logits
/// over the original ids on a sequence without reward tokens are π₀'s (< 1e-5).
#[test]
fn trainer_grows_the_vocabulary_by_the_reward_tokens() {
    let task = synthetic(0);
    let ad = test_backend().autodiff_device().unwrap();
    let base = base_policy(&task, 0, &ad).unwrap();
    let v = base.tokenizer.vocab_size();
    let quark =
        QuarkTrainer::new(base.model, base.tokenizer, gold(), QuarkConfig::default()).unwrap();
    let ids: Vec<u32> = (v..v + 5).map(|i| i as u32).collect();
    assert_eq!(quark.reward_token_ids(), &ids[..]);
    assert_eq!(quark.original_vocab_size(), v);
    assert_eq!(quark.reference().config.vocab_size, v);
    assert_eq!(quark.policy().config.vocab_size, v + 5);
    assert_eq!(quark.tokenizer().vocab_size(), v + 5);
    let tk: &TextTokenizer = quark.tokenizer();
    for (k, &id) in ids.iter().enumerate() {
        assert_eq!(tk.encode(&reward_token(k)).unwrap(), vec![id]);
        assert_eq!(tk.decode(&[id], false).unwrap(), reward_token(k));
    }
    let seq = tk.encode("review: the film was good").unwrap();
    let t = seq.len();
    let toks: Vec<i64> = seq.iter().map(|&x| x as i64).collect();
    let plain = quark.policy().valid();
    let d = plain.device();
    let grown = plain.forward(ints(toks.clone(), [1, t], &d), None).logits;
    let grown = to_f32(grown.slice([0..1, 0..t, 0..v]));
    let orig = to_f32(
        quark
            .reference()
            .forward(ints(toks, [1, t], &d), None)
            .logits,
    );
    let diff = grown
        .iter()
        .zip(&orig)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("grown policy vs π₀, logits over the original {v} ids: max difference {diff:e}");
    assert!(diff < 1e-5, "logits over the original ids differ by {diff}");
}

/// The learning test, seeded (the task, the word writer, the reward-token rows, sampling and
/// minibatch order all come from fixed seeds). From the synthetic word writer (150 SFT steps):
/// 6 phases of 128 samples, each followed by 50 steps on 32 pool samples at lr 3e-3, with
/// K = 5, β = 0.05, α = 0.06. Mean gold on the 64 eval prompts (2 samples each, temperature 1)
/// conditioned on r_4 / r_0, measured on flex: before 0.012 / −0.034, after 0.743 / −0.031
/// (ndarray: 0.012 / −0.013 → 0.590 / −0.031; Quark seeds 1 and 2 on flex end at
/// 0.639 / −0.097 and 0.514 / −0.054). Asserted: r_4's gold rises by more than 0.35 and ends
/// more than 0.4 above r_0's (below every run measured, for other machines' float kernels).
/// About 17 s on two busy cores, the word writer included.
#[test]
fn quark_separates_best_and_worst_and_raises_gold() {
    let started = std::time::Instant::now();
    let task = synthetic(0);
    let ad = test_backend().autodiff_device().unwrap();
    let base = word_writer(&task, 0, 150, &ad).unwrap();
    let start = params(&base.model);
    let mut config = QuarkConfig::default();
    config.lr = 3e-3;
    config.batch_size = 32;
    config.samples_per_phase = 128;
    config.steps_per_phase = 50;
    config.max_new_tokens = 16;
    config.seed = 0;
    let mut quark = QuarkTrainer::new(base.model, base.tokenizer, gold(), config).unwrap();
    let eval = &task.eval_prompts;
    let (best_before, worst_before) = (
        conditioned_gold(&quark, eval, 4, 2, 11),
        conditioned_gold(&quark, eval, 0, 2, 11),
    );
    for phase in 0..6 {
        let prompts = &task.train_prompts[(phase * 64) % task.train_prompts.len()..];
        let s = quark.phase(prompts).unwrap();
        assert_eq!(s.explore.from_initial, phase == 0);
        assert_eq!(s.explore.pool_size, 128 * (phase + 1));
        let sizes = &s.explore.quantiles.sizes;
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        assert!(s.train.loss.is_finite() && s.train.kl >= -1e-6);
        eprintln!(
            "phase {phase}: sample gold {:.3}, pool {} (mean {:.3}), quantile lower bounds \
             {:.3?}; loss {:.3}: NLL {:.3}, KL {:.3}, H {:.3} ({:.1} s + {:.1} s)",
            s.explore.mean_reward,
            s.explore.pool_size,
            s.explore.pool_mean_reward,
            s.explore.quantiles.lower,
            s.train.loss,
            s.train.nll,
            s.train.kl,
            s.train.entropy,
            s.explore.seconds,
            s.train.seconds
        );
        serde_json::to_string(&s).unwrap();
    }
    let (best_after, worst_after) = (
        conditioned_gold(&quark, eval, 4, 2, 11),
        conditioned_gold(&quark, eval, 0, 2, 11),
    );
    eprintln!(
        "gold on eval prompts conditioned on r_4 / r_0: before {best_before:.3} / \
         {worst_before:.3}, after {best_after:.3} / {worst_after:.3} ({:.1} s in all)",
        started.elapsed().as_secs_f64()
    );
    assert!(
        best_after > best_before + 0.35,
        "best-token gold {best_before:.3} → {best_after:.3}"
    );
    assert!(
        best_after > worst_after + 0.4,
        "best {best_after:.3} vs worst {worst_after:.3}"
    );
    // π₀ is the word writer, unchanged; the policy moved.
    assert_eq!(params(quark.reference()), start);
    // The decoder layers (between the embedding and the LM head, which grew).
    let now = params(quark.policy());
    let layers = 1..now.len() - 1;
    let moved = now[layers.clone()]
        .iter()
        .flatten()
        .zip(start[layers].iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "policy weights did not change ({moved})");
}

/// Quark driven by `rlp_train::drive` with a checkpoint every 2 phases: a run stopped after phase
/// 3 (its newest checkpoint is phase 2) and resumed ends with the uninterrupted run's weights
/// and pool, bit for bit. The pool, its quantiles and the position in the shuffled pass are part
/// of the state (the pass counter names the stream of every shuffle).
#[test]
fn resumed_quark_matches_the_uninterrupted_run() {
    use rlp_policy_opt::quark::QuarkRun;
    use rlp_train::{Trainer, interrupted_and_whole};
    let task = synthetic(0);
    let ad = test_backend().autodiff_device().unwrap();
    let base = word_writer(&task, 0, 40, &ad).unwrap();
    let run = || {
        let mut config = QuarkConfig::default();
        config.lr = 1e-3;
        config.batch_size = 4;
        config.samples_per_phase = 8;
        config.steps_per_phase = 4;
        config.max_new_tokens = 6;
        config.seed = 3;
        let t =
            QuarkTrainer::new(base.model.clone(), base.tokenizer.clone(), gold(), config).unwrap();
        QuarkRun::new(t, &task.train_prompts, SeededRng::new(3), 5).unwrap()
    };
    let dir = rlp_core::ScratchDir::new("quark-resume").unwrap();
    let (resumed, full) = interrupted_and_whole(run, &dir, 2, 3).unwrap();
    assert_eq!(full.steps_done(), 5);
    assert!(params(resumed.trainer.policy()) == params(full.trainer.policy()));
    assert_eq!(resumed.trainer.pool(), full.trainer.pool());
    assert_eq!(resumed.trainer.steps(), full.trainer.steps());
}
