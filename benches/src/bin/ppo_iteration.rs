//! One PPO iteration on the default task, timed by phase: the shipped `tweet-sentiment` base
//! (3.1M parameters) as policy, anchor and value backbone, its gold classifier (3.9M) as the
//! reward; 64 train prompts, up to 24 new tokens sampled at temperature 1, 4 PPO epochs of
//! minibatch 16 (16 policy and 16 value steps). `benches/pytorch/ppo_iteration.py` runs the
//! same iteration in PyTorch on the same weights.
//!
//!     cargo run --release --bin ppo_iteration -- [flex|ndarray] [iterations]
//!
//! Prints one JSON line per iteration (after one warm-up): seconds in generation, scoring
//! (reward, old/reference log-probs, values) and update, and the mean response length.

use rlp::core::{BackendSpec, SeededRng};
use rlp::policy::anchor::FrozenAnchor;
use rlp::policy::ppo::{PpoConfig, PpoTrainer, ValueInit, ValueModel};
use rlp::tasks::{DEFAULT_TASK, load_base_policy, load_task};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spec: BackendSpec = args.get(1).map_or("flex", String::as_str).parse().unwrap();
    let iterations: usize = args.get(2).map_or(3, |s| s.parse().unwrap());
    let plain = spec.device().unwrap();
    let train = spec.autodiff_device().unwrap();
    let task = load_task(DEFAULT_TASK, 0, &plain).unwrap();
    let base = load_base_policy(&task, 0, &train).unwrap();
    let value = ValueModel::from_policy(base.model.clone(), &mut SeededRng::new(1));
    let anchor = FrozenAnchor::new(&base.model);
    let mut config = PpoConfig::default();
    config.rollout_batch_size = 64;
    config.mini_batch_size = 16;
    config.ppo_epochs = 4;
    config.max_new_tokens = 24;
    config.value_init = ValueInit::Policy;
    let mut ppo =
        PpoTrainer::new(base.model, value, Box::new(anchor), base.tokenizer, config).unwrap();
    for it in 0..=iterations {
        let prompts = task.train_prompts[it * 64..(it + 1) * 64].to_vec();
        let s = ppo.step(&prompts, task.gold.as_ref()).unwrap();
        if it == 0 {
            continue; // warm-up
        }
        println!(
            "{{\"backend\": \"{spec}\", \"iteration\": {it}, \"generate_s\": {:.3}, \"score_s\": {:.3}, \"update_s\": {:.3}, \"total_s\": {:.3}, \"response_len\": {:.1}}}",
            s.time_generate,
            s.time_score,
            s.time_update,
            s.time_generate + s.time_score + s.time_update,
            s.response_len
        );
    }
}
