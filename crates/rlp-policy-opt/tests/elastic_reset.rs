//! Elastic Reset's invariants: the EMA follows `θ̄ ← η θ̄ + (1 − η) θ` after every iteration;
//! every `n` iterations (and only then) the policy takes the EMA's weights and the EMA returns
//! to θ₀; the anchor is θ₀ or the EMA as configured; the policy stays trainable; the optional
//! value and optimiser resets; the state survives a checkpoint; bad settings name the field.
//! Everything is seeded.

use burn::module::Module;
use proptest::prelude::*;
use rlp_core::SeededRng;
use rlp_core::With;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::max_abs_diff;
use rlp_models::CausalLm;
use rlp_models::checkpoint::host_tensors;
use rlp_policy_opt::ppo::{PpoConfig, PpoTrainer, ValueInit, ValueModel};
use rlp_policy_opt::{ElasticReset, ElasticResetConfig, ResetAnchor};
use rlp_tasks::Task;
use rlp_tasks::synthetic::{base_policy, synthetic};
use rlp_train::optim::require_autodiff;

/// Every weight of `m`, flattened.
fn params(m: &CausalLm) -> Vec<f32> {
    host_tensors(&m.valid())
        .into_iter()
        .flat_map(|(_, (_, v))| v)
        .collect()
}

/// A trainer on the synthetic task's base policy and Elastic Reset around it.
fn setup(task: &Task, config: ElasticResetConfig) -> (PpoTrainer, ElasticReset) {
    let device = test_backend().autodiff_device().unwrap();
    let base = base_policy(task, 0, &device).unwrap();
    let value = ValueModel::from_policy(base.model.clone(), &mut SeededRng::new(2));
    let reset = ElasticReset::new(&base.model, &value, config).unwrap();
    let mut ppo = PpoConfig::default();
    ppo.rollout_batch_size = 8;
    ppo.mini_batch_size = 4;
    ppo.ppo_epochs = 1;
    ppo.lr = 1e-3;
    ppo.max_new_tokens = 8;
    ppo.value_init = ValueInit::Policy;
    ppo.seed = 4;
    let trainer = PpoTrainer::new(
        base.model,
        value,
        Box::new(reset.anchor()),
        base.tokenizer,
        ppo,
    )
    .unwrap();
    (trainer, reset)
}

/// A stand-in for a PPO update: the policy takes the weights of a fresh model drawn with
/// `seed` (same architecture, on the trainer's autodiff device).
fn fake_update(trainer: &mut PpoTrainer, seed: u64) {
    let device = trainer.policy.device();
    trainer.policy =
        CausalLm::init(&trainer.policy.config, &mut SeededRng::new(seed), &device).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Tracks θ̄ by hand over a run of stand-in updates and checks the EMA, the policy after
    /// each reset, the anchor and the reset count after every iteration.
    #[test]
    fn ema_and_resets_follow_the_recursion(
        eta in 0.0f64..=1.0,
        every in 1usize..4,
        iterations in 1usize..7,
        ema_anchor in any::<bool>(),
    ) {
        let task = synthetic(0);
        let anchor = if ema_anchor { ResetAnchor::Ema } else { ResetAnchor::Initial };
        let mut config = ElasticResetConfig::default();
        config.eta = eta;
        config.reset_every = every;
        config.anchor = anchor;
        let (mut trainer, mut reset) = setup(&task, config);
        let theta0 = params(&trainer.policy);
        let mut ema = theta0.clone();
        for it in 1..=iterations {
            fake_update(&mut trainer, 100 + it as u64);
            let theta = params(&trainer.policy);
            for (e, t) in ema.iter_mut().zip(&theta) {
                *e = (eta * *e as f64 + (1.0 - eta) * *t as f64) as f32;
            }
            let did = reset.after_iteration(&mut trainer).unwrap();
            prop_assert_eq!(did, it % every == 0);
            prop_assert_eq!(reset.resets(), it / every);
            prop_assert_eq!(reset.iterations(), it);
            if did {
                // θ ← θ̄, then θ̄ ← θ₀.
                prop_assert!(max_abs_diff(&params(&trainer.policy), &ema) < 1e-5);
                ema = theta0.clone();
                prop_assert_eq!(params(reset.ema()), theta0.clone());
            } else {
                prop_assert_eq!(params(&trainer.policy), theta);
                prop_assert!(max_abs_diff(&params(reset.ema()), &ema) < 1e-5);
            }
            let want_anchor = if ema_anchor { &ema } else { &theta0 };
            prop_assert!(max_abs_diff(&params(trainer.anchor.model()), want_anchor) < 1e-5);
            // The policy stays on the autodiff device, trainable; the EMA stays plain.
            prop_assert!(require_autodiff(&trainer.policy, "policy").is_ok());
            prop_assert!(reset.ema().devices().iter().all(|d| !d.is_autodiff()));
        }
    }
}

#[test]
fn eta_one_resets_to_the_initial_model_and_eta_zero_is_a_no_op_reset() {
    let task = synthetic(0);
    for (eta, back_to_start) in [(1.0, true), (0.0, false)] {
        let mut config = ElasticResetConfig::default();
        config.eta = eta;
        config.reset_every = 1;
        let (mut trainer, mut reset) = setup(&task, config);
        let theta0 = params(&trainer.policy);
        fake_update(&mut trainer, 7);
        let theta = params(&trainer.policy);
        assert!(reset.after_iteration(&mut trainer).unwrap());
        // η = 1: θ̄ never moved, so the reset returns the policy to θ₀; η = 0: θ̄ = θ.
        let want = if back_to_start { &theta0 } else { &theta };
        assert_eq!(&params(&trainer.policy), want, "eta {eta}");
    }
}

#[test]
fn real_ppo_steps_with_value_and_optimizer_resets() {
    let task = synthetic(0);
    let mut config = ElasticResetConfig::default();
    config.eta = 0.5;
    config.reset_every = 2;
    config.anchor = ResetAnchor::Ema;
    config.reset_optimizer = true;
    config.reset_value = true;
    let (mut trainer, mut reset) = setup(&task, config);
    let value0 = params(&trainer.value.backbone);
    let theta0 = params(&trainer.policy);
    for it in 0..3 {
        let prompts = task.train_prompts[it * 8..(it + 1) * 8].to_vec();
        trainer.step(&prompts, task.gold.as_ref()).unwrap();
        let before_value = params(&trainer.value.backbone);
        let did = reset.after_iteration(&mut trainer).unwrap();
        if did {
            assert_ne!(before_value, value0, "PPO moved the value model");
            assert_eq!(params(&trainer.value.backbone), value0, "value reset");
            assert_eq!(
                params(trainer.anchor.model()),
                theta0,
                "EMA anchor back at θ₀"
            );
        }
    }
    assert_eq!(reset.resets(), 1);
    assert_ne!(params(&trainer.policy), theta0);
    // The trainer goes on after the optimiser reset.
    let prompts = task.train_prompts[24..32].to_vec();
    trainer.step(&prompts, task.gold.as_ref()).unwrap();
}

#[test]
fn state_survives_save_and_load() {
    let task = synthetic(0);
    let (mut trainer, mut reset) = setup(&task, ElasticResetConfig::default());
    fake_update(&mut trainer, 9);
    reset.after_iteration(&mut trainer).unwrap();
    let dir = rlp_core::ScratchDir::new("elastic-reset").unwrap();
    reset.save_state(dir.path()).unwrap();
    let (_, mut fresh) = setup(&task, ElasticResetConfig::default());
    fresh.load_state(dir.path()).unwrap();
    assert_eq!(fresh.iterations(), 1);
    assert_eq!(fresh.resets(), 0);
    assert_eq!(params(fresh.ema()), params(reset.ema()));
}

#[test]
fn bad_settings_name_the_field() {
    for (config, field) in [
        (
            ElasticResetConfig::default().with(|c| c.eta = 1.5),
            "elastic_reset.eta",
        ),
        (
            ElasticResetConfig::default().with(|c| c.reset_every = 0),
            "elastic_reset.reset_every",
        ),
    ] {
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
    let toml_err = toml::from_str::<ElasticResetConfig>("resets = 3").unwrap_err();
    assert!(toml_err.to_string().contains("resets"), "{toml_err}");
}
