//! DPO end to end on a tiny decoder: training widens the chosen-minus-rejected margin, moves the
//! policy and leaves the reference alone; the same seed gives the same run; unusable pairs are
//! counted skips and bad settings are errors naming the field.

use rlp_core::With;
use rlp_core::burn::module::Module;
use rlp_core::burn::tensor::Device;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::to_f32;
use rlp_core::{PreferencePair, SeededRng};
use rlp_models::{CausalLm, LlamaConfig, TextTokenizer};
use rlp_policy_opt::dpo::encode_preferences;
use rlp_policy_opt::{DpoConfig, DpoTrainer};

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
        let (a, b) = (response(rng, 5, 0.3), response(rng, 5, 0.3));
        let (ga, gb) = (goods(&a), goods(&b));
        if ga == gb {
            continue;
        }
        let (chosen, rejected) = if ga > gb { (a, b) } else { (b, a) };
        out.push(PreferencePair {
            prompt: "say:".into(),
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

fn initial(tk: &TextTokenizer, device: &Device) -> CausalLm {
    let mut cfg = LlamaConfig::tiny(tk.vocab_size());
    cfg.max_position_embeddings = 64;
    CausalLm::init(&cfg, &mut SeededRng::new(11), device).unwrap()
}

fn config() -> DpoConfig {
    DpoConfig::default().with(|c| {
        c.lr = 2e-3;
        c.batch_size = 16;
        c.epochs = 2;
        c.max_len = 32;
        c.seed = 5;
    })
}

fn weights(m: &CausalLm) -> Vec<f32> {
    let l = &m.layers[0];
    [
        m.embed_tokens.weight.val(),
        l.self_attn.q_proj.weight.val(),
        m.lm_head.as_ref().unwrap().weight.val(),
    ]
    .into_iter()
    .flat_map(|t| to_f32(t.without_autodiff()))
    .collect()
}

/// Trains from the same initial model; returns the trainer and its report.
fn run(tk: &TextTokenizer, train: &[PreferencePair]) -> (DpoTrainer, rlp_policy_opt::DpoReport) {
    let ad = test_backend().autodiff_device().unwrap();
    let policy = initial(tk, &ad);
    let reference = policy.valid();
    let t = DpoTrainer::new(policy, &reference, tk.clone(), config()).unwrap();
    let mut steps = 0;
    let (t, report) = t.train(train, &mut |_| steps += 1).unwrap();
    assert_eq!(steps, report.steps);
    (t, report)
}

#[test]
fn dpo_widens_the_margin_and_keeps_the_reference() {
    let tk = tokenizer();
    let mut rng = SeededRng::new(7);
    let (train, test) = (pairs(&mut rng, 96), pairs(&mut rng, 64));
    let ad = test_backend().autodiff_device().unwrap();
    let start = initial(&tk, &ad);
    let ref_before = weights(&start);

    let fresh = DpoTrainer::new(initial(&tk, &ad), &start, tk.clone(), config()).unwrap();
    let before = fresh.evaluate(&test).unwrap();
    // Policy = reference: every Δ is exactly 0, so the loss is ln 2 and nothing is "accurate".
    assert!(before.stats.margin.abs() < 1e-6, "{before:?}");
    assert!((before.loss - std::f64::consts::LN_2).abs() < 1e-5);

    let (t, report) = run(&tk, &train);
    let after = t.evaluate(&test).unwrap();
    let on_train = t.evaluate(&train).unwrap();
    eprintln!("report {report:?}\nheld-out after {after:?}\ntrain after {on_train:?}");
    assert_eq!(report.steps, 12);
    assert_eq!(report.pairs, 96);
    assert!(
        on_train.stats.margin > 0.3,
        "train margin {}",
        on_train.stats.margin
    );
    assert!(
        after.stats.margin > 0.25,
        "held-out margin {}",
        after.stats.margin
    );
    assert!(
        after.stats.accuracy > 0.75,
        "held-out accuracy {}",
        after.stats.accuracy
    );
    assert!(
        after.loss < std::f64::consts::LN_2 - 0.1,
        "held-out loss {}",
        after.loss
    );

    assert_ne!(weights(&t.policy), ref_before, "the policy must change");
    assert_eq!(
        weights(&t.reference),
        ref_before,
        "the reference must not change"
    );
    assert!(t.reference.devices().iter().all(|d| !d.is_autodiff()));

    // Same seed, same run.
    let (t2, report2) = run(&tk, &train);
    assert_eq!(report2.last_epoch_loss, report.last_epoch_loss);
    assert_eq!(weights(&t2.policy), weights(&t.policy));
}

#[test]
fn a_single_step_updates_and_reports() {
    let tk = tokenizer();
    let ad = test_backend().autodiff_device().unwrap();
    let policy = initial(&tk, &ad);
    let reference = policy.valid();
    let mut t = DpoTrainer::new(policy, &reference, tk.clone(), config()).unwrap();
    let mut batch = pairs(&mut SeededRng::new(1), 8);
    batch.push(PreferencePair {
        prompt: "say:".into(),
        chosen: " same".into(),
        rejected: " same".into(),
        margin: None,
    });
    let s = t.step(&batch).unwrap();
    assert_eq!((s.step, s.pairs, s.skipped.identical), (1, 8, 1));
    assert!((s.loss - std::f64::consts::LN_2).abs() < 1e-5, "{s:?}");
    let s = t.step(&batch).unwrap();
    assert!(
        s.stats.margin > 0.0 && s.loss < std::f64::consts::LN_2,
        "{s:?}"
    );
    assert!(
        t.step(&batch[8..]).is_err(),
        "only an identical pair is left"
    );
}

#[test]
fn unusable_pairs_are_counted_and_bad_settings_named() {
    let tk = tokenizer();
    let long = PreferencePair {
        prompt: "say:".into(),
        chosen: " great".repeat(40),
        rejected: " the".repeat(40),
        margin: None,
    };
    let empty = PreferencePair {
        prompt: String::new(),
        chosen: " ".into(),
        rejected: " cat".into(),
        margin: None,
    };
    let ok = PreferencePair {
        prompt: String::new(),
        chosen: " great".into(),
        rejected: " dull".into(),
        margin: None,
    };
    let (enc, skips) = encode_preferences(&tk, &[long, empty, ok], 32).unwrap();
    assert_eq!((skips.too_long, skips.empty, enc.len()), (1, 1, 1));
    // An empty prompt gets the `<|endoftext|>` id as context; responses end in eos.
    assert_eq!(enc[0].prompt, vec![tk.pad_id.unwrap()]);
    assert_eq!(enc[0].chosen.last(), tk.eos_id.as_ref());

    let ad = test_backend().autodiff_device().unwrap();
    let policy = initial(&tk, &ad);
    let reference = policy.valid();
    for (cfg, field) in [
        (config().with(|c| c.kl_beta = 0.0), "kl_beta"),
        (
            config().with(|c| c.label_smoothing = 0.5),
            "label_smoothing",
        ),
        (config().with(|c| c.batch_size = 0), "batch_size"),
        (config().with(|c| c.max_len = 65), "max_len"),
    ] {
        let e = DpoTrainer::new(policy.clone(), &reference, tk.clone(), cfg)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&format!("`{field}`")), "{e}");
    }
    // A policy on the plain device cannot be trained.
    assert!(DpoTrainer::new(reference.clone(), &reference, tk.clone(), config()).is_err());
}
