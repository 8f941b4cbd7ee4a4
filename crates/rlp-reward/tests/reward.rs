//! Reward models end to end on a tiny decoder: Bradley–Terry training learns a preference,
//! checkpoints round-trip, frozen parameters stay frozen, and unusable input is an error or a
//! counted skip. Seeded: every run gives the same numbers on a given backend.

use rlp_core::device::test_backend;
use rlp_core::tensor_io::to_f32;
use rlp_core::{PreferencePair, RewardFn, ScratchDir, SeededRng};
use rlp_models::{CausalLm, LlamaConfig, TextTokenizer, checkpoint};
use rlp_reward::{
    LearnedReward, Overlong, RewardModel, RmTrainConfig, Trainable, encode_pairs, evaluate,
    train_reward_model,
};

const GOOD: [&str; 4] = ["great", "lovely", "superb", "fine"];
const OTHER: [&str; 8] = ["the", "cat", "sat", "on", "a", "mat", "dull", "grey"];

/// A response of `n` words, each good with probability `p_good`.
fn response(rng: &mut SeededRng, n: usize, p_good: f64) -> String {
    (0..n)
        .map(|_| {
            if rng.bernoulli(p_good) {
                GOOD[rng.below(GOOD.len())]
            } else {
                OTHER[rng.below(OTHER.len())]
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn goods(s: &str) -> usize {
    s.split(' ').filter(|w| GOOD.contains(w)).count()
}

/// Pairs whose chosen side has more good words (ties re-drawn).
fn pairs(rng: &mut SeededRng, n: usize) -> Vec<PreferencePair> {
    let mut out = Vec::new();
    while out.len() < n {
        let (a, b) = (response(rng, 6, 0.3), response(rng, 6, 0.3));
        let (ga, gb) = (goods(&a), goods(&b));
        if ga == gb {
            continue;
        }
        let (chosen, rejected) = if ga > gb { (a, b) } else { (b, a) };
        out.push(PreferencePair {
            prompt: "say: ".into(),
            chosen: format!(" {chosen}"),
            rejected: format!(" {rejected}"),
            margin: None,
        });
    }
    out
}

fn tokenizer() -> TextTokenizer {
    let mut rng = SeededRng::new(3);
    let corpus: Vec<String> = (0..500)
        .map(|_| format!("say: {}", response(&mut rng, 8, 0.3)))
        .collect();
    TextTokenizer::train_bpe(corpus.iter(), 300).unwrap()
}

fn fresh(tk: &TextTokenizer, seed: u64, device: &rlp_core::burn::tensor::Device) -> RewardModel {
    let cfg = LlamaConfig::tiny(tk.vocab_size());
    let policy = CausalLm::init(&cfg, &mut SeededRng::new(seed), device).unwrap();
    RewardModel::from_policy(policy, &mut SeededRng::new(seed + 1))
}

#[test]
fn bradley_terry_training_learns_the_preference() {
    let device = test_backend().autodiff_device().unwrap();
    let tk = tokenizer();
    let mut rng = SeededRng::new(7);
    let (train, test) = (pairs(&mut rng, 480), pairs(&mut rng, 200));
    let mut cfg = RmTrainConfig::default();
    cfg.epochs = 3;
    cfg.batch_size = 16;
    cfg.lr = 3e-3;
    cfg.max_len = 64;
    let model = fresh(&tk, 11, &device);
    let before = evaluate(&model, &tk, &test, 64, Overlong::Skip, 64).unwrap();
    let mut steps = 0;
    let (model, report) =
        train_reward_model(model, &tk, &train, &cfg, &mut |s| steps = s.step).unwrap();
    let after = evaluate(&model, &tk, &test, 64, Overlong::Skip, 64).unwrap();
    eprintln!(
        "held-out accuracy {:.3} → {:.3}; {report:?}",
        before.accuracy, after.accuracy
    );
    assert_eq!((steps, report.steps, report.pairs), (90, 90, 480));
    assert!(before.accuracy < 0.75, "{before:?}");
    assert!(after.accuracy >= 0.9, "{after:?}");
    assert!(report.last_epoch_loss < 0.4, "{report:?}");
    assert!(after.mean_gap > 1.0, "{after:?}");
}

#[test]
fn checkpoints_round_trip_and_load_as_a_reward_fn() {
    let device = test_backend().device().unwrap();
    let tk = tokenizer();
    let model = fresh(&tk, 5, &device);
    let dir = ScratchDir::new("rm-save").unwrap();
    model.save(&dir).unwrap();
    tk.save(dir.join("tokenizer.json")).unwrap();
    let back = LearnedReward::load(&dir, &device).unwrap();
    let mine = LearnedReward::new(model, tk, "mine").unwrap();
    let prompts = vec!["say: ".to_string(); 3];
    let responses: Vec<String> = ["great cat", "", "the mat the mat"]
        .map(String::from)
        .to_vec();
    let a = mine.score(&prompts, &responses).unwrap();
    let b = back.score(&prompts, &responses).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 3);
    assert!(a.iter().all(|x| x.is_finite()));
    // A policy checkpoint is not a reward model: the error says what is missing.
    let policy = ScratchDir::new("rm-policy").unwrap();
    checkpoint::save(&mine.model.backbone, &policy).unwrap();
    let e = RewardModel::load(&policy, &device)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("score.weight") && e.contains("missing"), "{e}");
}

#[test]
fn frozen_parameters_do_not_move() {
    let device = test_backend().autodiff_device().unwrap();
    let tk = tokenizer();
    let model = fresh(&tk, 9, &device)
        .with_trainable(Trainable::Top(1))
        .unwrap();
    let embed = to_f32(model.backbone.embed_tokens.weight.val());
    let layer0 = to_f32(model.backbone.layers[0].mlp.up_proj.weight.val());
    let layer1 = to_f32(model.backbone.layers[1].mlp.up_proj.weight.val());
    let head = to_f32(model.head.proj.weight.val());
    let mut cfg = RmTrainConfig::default();
    cfg.epochs = 1;
    cfg.lr = 1e-2;
    cfg.max_len = 64;
    let (m, _) = train_reward_model(
        model,
        &tk,
        &pairs(&mut SeededRng::new(1), 32),
        &cfg,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(to_f32(m.backbone.embed_tokens.weight.val()), embed);
    assert_eq!(
        to_f32(m.backbone.layers[0].mlp.up_proj.weight.val()),
        layer0
    );
    assert_ne!(
        to_f32(m.backbone.layers[1].mlp.up_proj.weight.val()),
        layer1
    );
    assert_ne!(to_f32(m.head.proj.weight.val()), head);
    let e = fresh(&tk, 9, &device)
        .with_trainable(Trainable::Top(3))
        .err()
        .unwrap();
    assert!(e.to_string().contains("`trainable`"), "{e}");
}

#[test]
fn unusable_pairs_are_counted_or_refused() {
    let device = test_backend().autodiff_device().unwrap();
    let tk = tokenizer();
    let p = |c: &str, r: &str| PreferencePair {
        prompt: "say: ".into(),
        chosen: c.into(),
        rejected: r.into(),
        margin: None,
    };
    let long = " great".repeat(100);
    let data = vec![
        p(" great", " great"),
        p("", " cat"),
        p(" cat", "  "),
        p(&long, " cat"),
        p(" fine", " mat"),
    ];
    let (enc, skips) = encode_pairs(&tk, &data, 32, Overlong::Skip).unwrap();
    assert_eq!(
        (enc.len(), skips.identical, skips.empty, skips.too_long),
        (1, 1, 2, 1)
    );
    let (enc, skips) = encode_pairs(&tk, &data, 32, Overlong::KeepEnd).unwrap();
    assert_eq!((enc.len(), skips.truncated, skips.too_long), (2, 1, 0));
    assert!(
        enc.iter()
            .all(|e| e.chosen.len() <= 32 && e.rejected.len() <= 32)
    );

    let mut cfg = RmTrainConfig::default();
    cfg.max_len = 32;
    let e = train_reward_model(fresh(&tk, 1, &device), &tk, &data[..4], &cfg, &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no usable pairs") && e.contains("1 identical"),
        "{e}"
    );
    // A tokenizer with more ids than the model's vocabulary.
    let small = {
        let cfg = LlamaConfig::tiny(100);
        let policy = CausalLm::init(&cfg, &mut SeededRng::new(0), &device).unwrap();
        RewardModel::from_policy(policy, &mut SeededRng::new(0))
    };
    let e = train_reward_model(small, &tk, &data, &cfg, &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("vocab"), "{e}");
    let mut zero = cfg;
    zero.batch_size = 0;
    assert!(train_reward_model(fresh(&tk, 1, &device), &tk, &data, &zero, &mut |_| {}).is_err());
    // Training needs an autodiff device.
    let plain = fresh(&tk, 1, &test_backend().device().unwrap());
    let e = train_reward_model(plain, &tk, &data, &RmTrainConfig::default(), &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("autodiff"), "{e}");
}

/// `affine(a, b)` scores `a·r + b` on every text (the head is mapped, the backbone kept), so
/// normalising by the mean and SD of some texts' scores gives them mean 0 and SD 1.
#[test]
fn affine_maps_every_score() {
    let device = test_backend().device().unwrap();
    let tk = tokenizer();
    let prompts = vec!["say: ".to_string(); 4];
    let responses: Vec<String> = ["great cat", "bad", "the mat the mat", "cat"]
        .map(String::from)
        .to_vec();
    let score = |m: RewardModel| {
        LearnedReward::new(m, tk.clone(), "m")
            .unwrap()
            .score(&prompts, &responses)
            .unwrap()
    };
    let r = score(fresh(&tk, 7, &device));
    let mapped = score(fresh(&tk, 7, &device).affine(-2.0, 0.5));
    for (x, y) in r.iter().zip(&mapped) {
        assert!((y - (-2.0 * x + 0.5)).abs() < 1e-5, "{x} → {y}");
    }
    let n = r.len() as f32;
    let mean = r.iter().sum::<f32>() / n;
    let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt();
    let z = score(fresh(&tk, 7, &device).affine(1.0 / sd, -mean / sd));
    let zm = z.iter().sum::<f32>() / n;
    let zsd = (z.iter().map(|x| (x - zm).powi(2)).sum::<f32>() / n).sqrt();
    assert!(zm.abs() < 1e-4 && (zsd - 1.0).abs() < 1e-3, "{zm} {zsd}");
}
