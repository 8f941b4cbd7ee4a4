//! GRPO, Dr. GRPO, RLOO and online DPO on the `synthetic` task: each learns (the gold of fresh
//! samples rises and every weight tensor of the policy moves), a group with equal rewards gives
//! no update at all, with μ = 1 and one minibatch the ratio is exactly 1, and a run resumed from
//! a checkpoint ends with the uninterrupted run's weights, bit for bit. The golden values of the
//! advantages and the aggregations are unit tests beside the code (`grpo::advantages`,
//! `grpo::surrogate`, `rloo::advantages`).
//!
//! Measured on flex (seeded, the same on every run): the gold of fresh samples on the eval
//! prompts after 25 steps (32 samples each) on the word writer rises from 0.015 to 0.654
//! (GRPO), 0.627 (Dr. GRPO), 0.621 (RLOO) and 0.518 (online DPO); the file runs in about 33 s
//! on one thread. The tests require a rise of more than 0.3.

use rlp_core::With;
use rlp_core::burn::module::Module;
use rlp_core::device::test_backend;
use rlp_core::{FnReward, SeededRng};
use rlp_models::checkpoint::host_tensors;
use rlp_models::{CausalLm, GenerationConfig, TextTokenizer, generate_text};
use rlp_policy_opt::grpo::{
    GroupRun, GroupSettings, GroupTrainer, GrpoConfig, LossAggregation, Scale,
};
use rlp_policy_opt::online_dpo::{OnlineDpoConfig, OnlineDpoRun, OnlineDpoTrainer, Ranker};
use rlp_policy_opt::rloo::RlooConfig;
use rlp_tasks::BasePolicy;
use rlp_tasks::Task;
use rlp_tasks::synthetic::{gold_score, synthetic, word_writer};
use rlp_train::{Trainer, interrupted_and_whole};

fn gold() -> FnReward<impl Fn(&str, &str) -> f32> {
    FnReward::new("synthetic-gold", |_p: &str, y: &str| gold_score(y))
}

/// Mean gold of 2 samples per eval prompt (temperature 1, 12 new tokens, seeded).
fn mean_gold(model: &CausalLm, tokenizer: &TextTokenizer, task: &Task) -> f64 {
    let generation = GenerationConfig::sampling(12, 1.0);
    let plain = model.valid();
    let mut rng = SeededRng::new(11);
    let mut all = Vec::new();
    for _ in 0..2 {
        let out =
            generate_text(&plain, tokenizer, &task.eval_prompts, &generation, &mut rng).unwrap();
        all.extend(out.into_iter().map(|c| gold_score(&c.text) as f64));
    }
    all.iter().sum::<f64>() / all.len() as f64
}

/// Names of the weight tensors that differ between two models.
fn unchanged_tensors(a: &CausalLm, b: &CausalLm) -> Vec<String> {
    host_tensors(&a.valid())
        .into_iter()
        .zip(host_tensors(&b.valid()))
        .filter(|((_, (_, x)), (_, (_, y)))| x == y)
        .map(|((name, _), _)| name)
        .collect()
}

fn start() -> (Task, BasePolicy) {
    let task = synthetic(0);
    let device = test_backend().autodiff_device().unwrap();
    let start = word_writer(&task, 0, 150, &device).unwrap();
    (task, start)
}

const STEPS: usize = 25;

fn grpo_settings(scale: Scale, aggregation: LossAggregation) -> GroupSettings {
    GrpoConfig::default()
        .with(|c| {
            c.prompts_per_step = 8;
            c.group_size = 4;
            c.mini_batch_size = 32;
            c.scale = scale;
            c.loss_aggregation = aggregation;
            c.lr = 1e-3;
            c.max_new_tokens = 12;
            c.seed = 5;
        })
        .settings()
        .unwrap()
}

/// `STEPS` steps of a group method against the gold reward; the gold before and after.
fn learn_group(settings: GroupSettings, name: &str) {
    let (task, start) = start();
    let before = mean_gold(&start.model, &start.tokenizer, &task);
    let reward = gold();
    let trainer =
        GroupTrainer::new(start.model.clone(), start.tokenizer.clone(), settings).unwrap();
    let mut run = GroupRun::new(
        trainer,
        &task.train_prompts,
        &reward,
        SeededRng::new(3),
        STEPS,
    )
    .unwrap();
    let mut scores = Vec::new();
    for _ in 0..STEPS {
        let s = run.step().unwrap();
        assert!(s.surrogate.loss.is_finite() && s.score.is_finite(), "{s:?}");
        assert_eq!(s.optimizer_steps, 1);
        scores.push(s.score);
    }
    let after = mean_gold(run.trainer.policy(), &start.tokenizer, &task);
    eprintln!(
        "{name}: gold {before:.3} → {after:.3}; batch reward {:.3} → {:.3}",
        scores[0],
        scores[STEPS - 1]
    );
    assert!(after > before + 0.3, "{name}: gold {before} → {after}");
    let same = unchanged_tensors(run.trainer.policy(), &start.model);
    assert!(
        same.is_empty(),
        "{name}: tensors that did not move: {same:?}"
    );
}

#[test]
fn grpo_learns() {
    learn_group(
        grpo_settings(Scale::Group, LossAggregation::SequenceMean),
        "GRPO",
    );
}

#[test]
fn dr_grpo_learns() {
    learn_group(
        grpo_settings(Scale::None, LossAggregation::DrGrpo),
        "Dr. GRPO",
    );
}

#[test]
fn rloo_learns() {
    let settings = RlooConfig::default()
        .with(|c| {
            c.prompts_per_step = 8;
            c.k = 4;
            c.mini_batch_size = 32;
            c.lr = 1e-3;
            c.max_new_tokens = 12;
            c.seed = 5;
        })
        .settings()
        .unwrap();
    learn_group(settings, "RLOO");
}

#[test]
fn online_dpo_learns() {
    let (task, start) = start();
    let before = mean_gold(&start.model, &start.tokenizer, &task);
    let reward = gold();
    let mut config = OnlineDpoConfig::default();
    config.prompts_per_step = 16;
    config.lr = 1e-3;
    config.max_new_tokens = 12;
    config.seed = 5;
    let trainer =
        OnlineDpoTrainer::new(start.model.clone(), start.tokenizer.clone(), config).unwrap();
    let ranker = Ranker::Reward(&reward);
    let mut run = OnlineDpoRun::new(
        trainer,
        &task.train_prompts,
        &ranker,
        SeededRng::new(3),
        STEPS,
    )
    .unwrap();
    for _ in 0..STEPS {
        let s = run.step().unwrap();
        assert!(s.kl.is_finite() && (0.0..=1.0).contains(&s.ties), "{s:?}");
        assert_eq!(s.loss.is_some(), s.pairs > 0);
    }
    let after = mean_gold(run.trainer.policy(), &start.tokenizer, &task);
    eprintln!("online DPO: gold {before:.3} → {after:.3}");
    assert!(after > before + 0.3, "online DPO: gold {before} → {after}");
    let same = unchanged_tensors(run.trainer.policy(), &start.model);
    assert!(
        same.is_empty(),
        "online DPO: tensors that did not move: {same:?}"
    );
}

/// A constant reward makes every group's rewards equal: every advantage is 0, so with β = 0 the
/// loss and its gradient are 0 and AdamW leaves every weight exactly where it was. Every group
/// is counted as equal. Online DPO with a constant reward ties every pair and makes no update.
#[test]
fn equal_rewards_give_no_update() {
    let (task, start) = start();
    let constant = FnReward::new("constant", |_: &str, _: &str| 0.5);
    let mut grpo = GroupTrainer::new(
        start.model.clone(),
        start.tokenizer.clone(),
        grpo_settings(Scale::Group, LossAggregation::TokenMean),
    )
    .unwrap();
    let s = grpo.step(&task.train_prompts[..8], &constant).unwrap();
    assert_eq!(s.equal_reward_groups, 1.0);
    assert_eq!(s.surrogate.loss, 0.0);
    assert!(
        unchanged_tensors(grpo.policy(), &start.model).len()
            == host_tensors(&start.model.valid()).len()
    );

    let mut dpo = OnlineDpoTrainer::new(
        start.model.clone(),
        start.tokenizer.clone(),
        OnlineDpoConfig::default(),
    )
    .unwrap();
    let s = dpo
        .step(&task.train_prompts[..8], Ranker::Reward(&constant))
        .unwrap();
    assert_eq!((s.ties, s.pairs, s.loss), (1.0, 0, None));
}

/// With μ = 1 and the whole batch in one minibatch, the policy has not moved when the loss is
/// taken, so `π/π_old` is exactly 1 on every token (the old log-probs come from the plain-device
/// copy of the same weights) and nothing is clipped. With μ = 2 the second pass sees the moved
/// policy, so the mean ratio over the two passes differs from 1.
#[test]
fn ratio_is_exactly_one_on_the_first_pass() {
    let (task, start) = start();
    let reward = gold();
    let mut s = grpo_settings(Scale::Group, LossAggregation::TokenMean);
    let mut one =
        GroupTrainer::new(start.model.clone(), start.tokenizer.clone(), s.clone()).unwrap();
    let stats = one.step(&task.train_prompts[..8], &reward).unwrap();
    assert_eq!(stats.surrogate.ratio, 1.0, "{stats:?}");
    assert_eq!(
        (stats.surrogate.clip_low, stats.surrogate.clip_high),
        (0.0, 0.0)
    );
    s.num_iterations = 2;
    let mut two = GroupTrainer::new(start.model.clone(), start.tokenizer.clone(), s).unwrap();
    let stats = two.step(&task.train_prompts[..8], &reward).unwrap();
    assert_eq!(stats.optimizer_steps, 2);
    assert_ne!(stats.surrogate.ratio, 1.0, "{stats:?}");
}

/// `make()` interrupted after 3 steps (checkpoints every 2) and resumed ends with the weights
/// of `make()` run for its 5 steps without interruption.
fn resumes_exactly<T: Trainer>(name: &str, make: impl Fn() -> T, policy: impl Fn(&T) -> CausalLm)
where
    T::Error: std::fmt::Debug,
{
    let dir = rlp_core::ScratchDir::new(name).unwrap();
    let (resumed, whole) = interrupted_and_whole(make, &dir, 2, 3).unwrap();
    assert_eq!(resumed.steps_done(), 5);
    assert!(
        host_tensors(&policy(&resumed).valid()) == host_tensors(&policy(&whole).valid()),
        "{name}: weights differ after resuming"
    );
}

#[test]
fn resumed_runs_match_the_uninterrupted_ones() {
    let task = synthetic(0);
    let device = test_backend().autodiff_device().unwrap();
    let start = word_writer(&task, 0, 40, &device).unwrap();
    let reward = gold();
    let mut rloo = RlooConfig::default();
    rloo.prompts_per_step = 4;
    rloo.k = 2;
    rloo.num_iterations = 2;
    rloo.mini_batch_size = 4;
    rloo.lr = 1e-3;
    rloo.max_new_tokens = 6;
    rloo.seed = 2;
    resumes_exactly(
        "rloo-resume",
        || {
            let t = GroupTrainer::new(
                start.model.clone(),
                start.tokenizer.clone(),
                rloo.settings().unwrap(),
            )
            .unwrap();
            GroupRun::new(t, &task.train_prompts, &reward, SeededRng::new(2), 5).unwrap()
        },
        |r| r.trainer.policy().clone(),
    );
    let mut config = OnlineDpoConfig::default();
    config.prompts_per_step = 4;
    config.lr = 1e-3;
    config.max_new_tokens = 6;
    config.seed = 2;
    let ranker = Ranker::Reward(&reward);
    resumes_exactly(
        "online-dpo-resume",
        || {
            let t =
                OnlineDpoTrainer::new(start.model.clone(), start.tokenizer.clone(), config.clone())
                    .unwrap();
            OnlineDpoRun::new(t, &task.train_prompts, &ranker, SeededRng::new(2), 5).unwrap()
        },
        |r| r.trainer.policy().clone(),
    );
}

/// `mask_truncated`: with one new token per completion every completion is cut before its stop
/// token, so every one leaves the loss: the loss is 0 and the weights do not move. Without the
/// mask the same batch (scored by its length in characters, so that groups differ) updates the
/// policy.
#[test]
fn truncated_completions_can_be_masked_out() {
    let (task, start) = start();
    // The length of the text: one-token completions differ in it, so groups are not equal.
    let reward = FnReward::new("length", |_: &str, y: &str| y.len() as f32);
    let settings = |mask_truncated| {
        GrpoConfig::default()
            .with(|c| {
                c.prompts_per_step = 8;
                c.group_size = 4;
                c.mini_batch_size = 32;
                c.mask_truncated = mask_truncated;
                c.lr = 1e-3;
                c.max_new_tokens = 1;
                c.seed = 5;
            })
            .settings()
            .unwrap()
    };
    let n = host_tensors(&start.model.valid()).len();
    let mut masked =
        GroupTrainer::new(start.model.clone(), start.tokenizer.clone(), settings(true)).unwrap();
    let s = masked.step(&task.train_prompts[..8], &reward).unwrap();
    assert_eq!(s.truncated, 1.0, "{s:?}");
    assert_eq!(s.surrogate.loss, 0.0);
    assert_eq!(unchanged_tensors(masked.policy(), &start.model).len(), n);
    let mut kept = GroupTrainer::new(
        start.model.clone(),
        start.tokenizer.clone(),
        settings(false),
    )
    .unwrap();
    kept.step(&task.train_prompts[..8], &reward).unwrap();
    assert!(unchanged_tensors(kept.policy(), &start.model).len() < n);
}

/// A pairwise judge: prefers the response with the higher synthetic gold (½ on a tie), or, when
/// `broken`, answers 1.5 (not a probability).
struct GoldJudge {
    broken: bool,
}

impl rlp_core::Judge for GoldJudge {
    fn name(&self) -> String {
        "gold-judge".into()
    }

    fn prefer(
        &self,
        _prompts: &[String],
        a: &[String],
        b: &[String],
    ) -> Result<Vec<f64>, rlp_core::BoxError> {
        Ok(a.iter()
            .zip(b)
            .map(
                |(a, b)| match (self.broken, gold_score(a).total_cmp(&gold_score(b))) {
                    (true, _) => 1.5,
                    (false, std::cmp::Ordering::Greater) => 1.0,
                    (false, std::cmp::Ordering::Less) => 0.0,
                    (false, std::cmp::Ordering::Equal) => 0.5,
                },
            )
            .collect())
    }
}

/// Online DPO ranked by a judge: a step ranks the pairs the judge separates and counts the
/// rest as ties (no score is reported: a judge gives none); 25 steps raise the gold like the
/// reward-ranked run; a judge answering outside [0, 1] is an error naming it.
#[test]
fn online_dpo_with_a_judge() {
    let (task, start) = start();
    let before = mean_gold(&start.model, &start.tokenizer, &task);
    let mut config = OnlineDpoConfig::default();
    config.prompts_per_step = 16;
    config.lr = 1e-3;
    config.max_new_tokens = 12;
    config.seed = 5;
    let judge = GoldJudge { broken: false };
    let mut t = OnlineDpoTrainer::new(start.model.clone(), start.tokenizer.clone(), config.clone())
        .unwrap();
    let mut pairs = 0;
    for k in 0..STEPS {
        let s = t
            .step(
                &task.train_prompts[k * 16 % 64..][..16],
                Ranker::Judge(&judge),
            )
            .unwrap();
        assert!(s.score.is_none() && s.ties < 1.0, "{s:?}");
        pairs += s.pairs;
    }
    let after = mean_gold(t.policy(), &start.tokenizer, &task);
    eprintln!("online DPO with a judge: gold {before:.3} → {after:.3}, {pairs} pairs");
    assert!(after > before + 0.3, "gold {before} → {after}");

    let broken = GoldJudge { broken: true };
    let mut t =
        OnlineDpoTrainer::new(start.model.clone(), start.tokenizer.clone(), config).unwrap();
    let e = t
        .step(&task.train_prompts[..4], Ranker::Judge(&broken))
        .unwrap_err()
        .to_string();
    assert!(e.contains("gold-judge") && e.contains("[0, 1]"), "{e}");
}
