//! The reward-modelling protocol on the `synthetic` task, end to end: pairs of sampled
//! responses, gold labels with 25% of them flipped, a proxy reward model trained on the noisy
//! labels from the task's base policy, then agreement with the gold scorer on held-out pairs
//! (labelled without noise). Seeded: the numbers are the same on every run of a backend.

use rlp_core::With;
use rlp_core::device::test_backend;
use rlp_core::{RewardFn, SeededRng};
use rlp_reward::{
    LabelConfig, LearnedReward, Overlong, RewardModel, RmTrainConfig, evaluate, label_pairs,
    train_reward_model,
};
use rlp_tasks::synthetic::{base_policy, random_responses};
use rlp_tasks::{Task, load_task};

fn sampled_pairs(
    task: &Task,
    rng: &mut SeededRng,
    prompts: &[String],
    flip: f64,
    seed: u64,
) -> Vec<rlp_core::PreferencePair> {
    let a = random_responses(rng, prompts.len(), 6);
    let b = random_responses(rng, prompts.len(), 6);
    let (pairs, report) = label_pairs(
        prompts,
        &a,
        &b,
        task.gold.as_ref(),
        &LabelConfig::default().with(|c| {
            c.flip = flip;
            c.seed = seed;
        }),
    )
    .unwrap();
    assert!(report.pairs > prompts.len() * 3 / 4, "{report:?}");
    pairs
}

#[test]
fn proxy_reward_model_learns_from_noisy_gold_labels() {
    let device = test_backend().autodiff_device().unwrap();
    let task = load_task("synthetic", 0, &device).unwrap();
    let mut rng = SeededRng::new(1);
    // Each train prompt twice: 512 noisy pairs; 400 clean held-out pairs on the eval prompts.
    let train_prompts: Vec<String> = task
        .train_prompts
        .iter()
        .chain(&task.train_prompts)
        .cloned()
        .collect();
    let train = sampled_pairs(&task, &mut rng, &train_prompts, 0.25, 2);
    let eval_prompts: Vec<String> = task
        .eval_prompts
        .iter()
        .cycle()
        .take(400)
        .cloned()
        .collect();
    let test = sampled_pairs(&task, &mut rng, &eval_prompts, 0.0, 3);

    let base = base_policy(&task, 4, &device).unwrap();
    let model = RewardModel::from_policy(base.model, &mut SeededRng::new(5));
    let mut cfg = RmTrainConfig::default();
    cfg.epochs = 3;
    cfg.batch_size = 16;
    cfg.lr = 2e-3;
    cfg.max_len = 64;
    let (model, report) =
        train_reward_model(model, &base.tokenizer, &train, &cfg, &mut |_| {}).unwrap();
    let held_out = evaluate(&model, &base.tokenizer, &test, 64, Overlong::Skip, 64).unwrap();
    eprintln!(
        "synthetic proxy RM: {} noisy pairs, train acc {:.3} (noise caps it near 0.75), \
         held-out gold agreement {:.3} on {} pairs, {:.1} s",
        report.pairs, report.last_epoch_accuracy, held_out.accuracy, held_out.pairs, report.seconds
    );
    assert!(held_out.accuracy >= 0.7, "{held_out:?}");

    // The trained model as a RewardFn ranks a clearly good response above a clearly bad one.
    let rm = LearnedReward::new(model, base.tokenizer, "proxy").unwrap();
    let p = vec![task.eval_prompts[0].clone(); 2];
    let s = rm
        .score(
            &p,
            &[
                " great happy best film".into(),
                " awful sad worst film".into(),
            ],
        )
        .unwrap();
    assert!(s[0] > s[1], "{s:?}");
}

#[test]
fn unknown_tasks_are_named() {
    let device = test_backend().device().unwrap();
    let e = load_task("imdb", 0, &device).err().unwrap().to_string();
    assert!(e.contains("imdb") && e.contains("tweet-sentiment"), "{e}");
}
