//! The embedded default task, `tweet-sentiment`, from the repository alone: the shipped gold
//! scorer judges sentiment, and the protocol of Gao et al. runs on it — a proxy reward model
//! initialised from the shipped base policy and trained on gold labels with 25% of them flipped
//! agrees with the gold scorer on held-out pairs sampled from that policy well above chance.
//! Seeded: the numbers are the same on every run of a backend.

use rlp_core::SeededRng;
use rlp_core::device::test_backend;
use rlp_models::{GenerationConfig, SamplingParams};
use rlp_reward::{
    LabelConfig, Overlong, RewardModel, RmTrainConfig, evaluate, sample_and_label,
    train_reward_model,
};
use rlp_tasks::{DEFAULT_TASK, load_base_policy, load_task};

#[test]
fn gold_scorer_reads_sentiment() {
    let device = test_backend().device().unwrap();
    let task = load_task(DEFAULT_TASK, 0, &device).unwrap();
    assert_eq!(
        (
            task.train_prompts.len(),
            task.eval_prompts.len(),
            task.drift.len()
        ),
        (4000, 500, 1000)
    );
    let prompts = vec![String::new(); 4];
    let texts: Vec<String> = [
        "I love this, best day ever! Thank you so much :)",
        "Great game tonight, so proud of the team!",
        "This is awful. Worst customer service ever, I want a refund.",
        "@user my flight is delayed again and nobody can help. Terrible.",
    ]
    .map(String::from)
    .to_vec();
    let s = task.gold.score(&prompts, &texts).unwrap();
    assert!(s.iter().all(|v| (-1.0..=1.0).contains(v)), "{s:?}");
    assert!(s[0] > 0.3 && s[1] > 0.3, "{s:?}");
    assert!(s[2] < -0.3 && s[3] < -0.3, "{s:?}");
}

#[test]
fn proxy_reward_model_agrees_with_gold_on_held_out_pairs() {
    let plain = test_backend().device().unwrap();
    let device = test_backend().autodiff_device().unwrap();
    let task = load_task(DEFAULT_TASK, 0, &plain).unwrap();
    let base = load_base_policy(&task, 0, &plain).unwrap();
    let mut generation = GenerationConfig::default();
    generation.max_new_tokens = 20;
    generation.sampling = SamplingParams::default();
    generation.sampling.temperature = 1.0;
    generation.sampling.top_k = None;
    generation.sampling.top_p = None;
    let label = |prompts: &[String], flip: f64, seed: u64| {
        let mut pairs = Vec::new();
        for (i, chunk) in prompts.chunks(100).enumerate() {
            let mut cfg = LabelConfig::default();
            cfg.flip = flip;
            cfg.seed = seed + i as u64;
            let (p, _) = sample_and_label(
                &base.model,
                &base.tokenizer,
                chunk,
                &generation,
                task.gold.as_ref(),
                &cfg,
            )
            .unwrap();
            pairs.extend(p);
        }
        pairs
    };
    let train = label(&task.train_prompts[..1200], 0.25, 1);
    let test = label(&task.eval_prompts[..300], 0.0, 100);

    let policy = load_base_policy(&task, 0, &device).unwrap();
    let model = RewardModel::from_policy(policy.model, &mut SeededRng::new(5));
    let mut cfg = RmTrainConfig::default();
    cfg.epochs = 1;
    cfg.batch_size = 16;
    cfg.lr = 1e-3;
    cfg.max_len = 64;
    cfg.overlong = Overlong::KeepEnd;
    let (model, report) =
        train_reward_model(model, &policy.tokenizer, &train, &cfg, &mut |_| {}).unwrap();
    let held_out = evaluate(&model, &policy.tokenizer, &test, 64, Overlong::KeepEnd, 64).unwrap();
    eprintln!(
        "tweet-sentiment proxy RM: {} noisy pairs, train acc {:.3}, held-out gold agreement \
         {:.3} on {} pairs, {:.1} s",
        report.pairs, report.last_epoch_accuracy, held_out.accuracy, held_out.pairs, report.seconds
    );
    // Chance is 0.5 and the labels' noise caps training accuracy near 0.75. This smaller run
    // (1,200 pairs, for CI) must clear 0.6; the full protocol (3,928 pairs) reaches 0.692, as
    // the README reports.
    assert!(held_out.accuracy >= 0.6, "{held_out:?}");
}
