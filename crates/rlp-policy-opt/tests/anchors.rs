//! KL anchors: the frozen anchor stays put, the EMA moves by exactly (1−η) of the gap to the
//! policy, `reset_to` replaces the weights, a soup of identical models is the model, and every
//! anchor's model lives on the plain device.

use rlp_core::SeededRng;
use rlp_core::burn::module::Module;
use rlp_core::burn::tensor::Device;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::{ints, max_abs_diff, to_f32};
use rlp_models::{CausalLm, LlamaConfig};
use rlp_policy_opt::{Anchor, DEFAULT_EMA_ETA, EmaAnchor, FrozenAnchor, SoupAnchor};

fn model(seed: u64, device: &Device) -> CausalLm {
    CausalLm::init(&LlamaConfig::tiny(32), &mut SeededRng::new(seed), device).unwrap()
}

/// A few parameters of every kind (embedding, attention, MLP, norm, head), flattened.
fn params(m: &CausalLm) -> Vec<f32> {
    let l = &m.layers[1];
    [
        m.embed_tokens.weight.val(),
        l.self_attn.q_proj.weight.val(),
        l.mlp.down_proj.weight.val(),
        m.lm_head.as_ref().unwrap().weight.val(),
    ]
    .into_iter()
    .flat_map(to_f32)
    .chain(to_f32(m.norm.gamma.val()))
    .collect()
}

fn logits(m: &CausalLm) -> Vec<f32> {
    let toks = ints(vec![1, 5, 9, 3, 7, 2], [2, 3], &m.device());
    to_f32(m.forward(toks, None).logits)
}

fn is_plain(m: &CausalLm) -> bool {
    m.devices().iter().all(|d| !d.is_autodiff())
}

#[test]
fn frozen_anchor_does_not_move() {
    let ad = test_backend().autodiff_device().unwrap();
    let (initial, policy) = (model(1, &ad), model(2, &ad));
    let mut a = FrozenAnchor::new(&initial);
    assert!(is_plain(a.model()));
    assert_eq!(a.name(), "initial");
    let before = params(a.model());
    for _ in 0..3 {
        a.after_iteration(&policy);
    }
    assert_eq!(params(a.model()), before);
    a.reset_to(&policy);
    assert_eq!(params(a.model()), params(&policy));
    assert!(is_plain(a.model()));
}

#[test]
fn ema_moves_by_one_minus_eta_of_the_gap() {
    let d = test_backend().device().unwrap();
    let initial = model(1, &d);
    // The policy on the autodiff device, as PPO holds it.
    let policy = model(2, &d).fork(&d.clone().autodiff());
    let mut a = EmaAnchor::new(&initial, DEFAULT_EMA_ETA).unwrap();
    assert_eq!(a.name(), "ema(0.995)");
    let (p, mut prev) = (params(&policy), params(&initial));
    for _ in 0..3 {
        a.after_iteration(&policy);
        let now = params(a.model());
        let want: Vec<f32> = prev
            .iter()
            .zip(&p)
            .map(|(e, t)| (*e as f64 + (1.0 - DEFAULT_EMA_ETA) * (*t as f64 - *e as f64)) as f32)
            .collect();
        let diff = max_abs_diff(&now, &want);
        assert!(diff < 1e-6, "EMA off by {diff}");
        assert!(max_abs_diff(&now, &prev) > 0.0, "the EMA must move");
        prev = now;
    }
    assert!(is_plain(a.model()));
    // Elastic Reset: back to the initial model.
    a.reset_to(&initial);
    assert_eq!(params(a.model()), params(&initial));
}

#[test]
fn ema_rejects_eta_outside_unit_interval() {
    let d = test_backend().device().unwrap();
    let m = model(1, &d);
    for eta in [-0.1, 1.5, f64::NAN] {
        let e = EmaAnchor::new(&m, eta).unwrap_err().to_string();
        assert!(e.contains("`eta`"), "{e}");
    }
}

#[test]
fn soup_anchor_of_identical_models_is_the_model() {
    let d = test_backend().device().unwrap();
    let m = model(3, &d);
    let a = SoupAnchor::salsa(&m, &m, 0.5).unwrap();
    assert_eq!(a.name(), "soup(0.5,0.5)");
    let diff = max_abs_diff(&logits(a.model()), &logits(&m));
    assert!(diff < 1e-5, "soup logits differ by {diff}");
    // A soup of two different models sits between them.
    let other = model(4, &d);
    let mut b = SoupAnchor::new(&[&m, &other], &[0.25, 0.75]).unwrap();
    let (pm, po, pb) = (params(&m), params(&other), params(b.model()));
    let want: Vec<f32> = pm
        .iter()
        .zip(&po)
        .map(|(x, y)| 0.25 * x + 0.75 * y)
        .collect();
    assert!(max_abs_diff(&pb, &want) < 1e-6);
    b.after_iteration(&m);
    assert_eq!(params(b.model()), pb, "a soup anchor is fixed");
    assert!(SoupAnchor::new(&[&m, &other], &[0.5, 0.6]).is_err());
    assert!(SoupAnchor::salsa(&m, &other, 2.0).is_err());
}

#[test]
fn anchors_are_usable_as_trait_objects() {
    let d = test_backend().device().unwrap();
    let m = model(5, &d);
    let anchors: Vec<Box<dyn Anchor>> = vec![
        Box::new(FrozenAnchor::new(&m)),
        Box::new(EmaAnchor::new(&m, 0.9).unwrap()),
        Box::new(SoupAnchor::new(&[&m], &[1.0]).unwrap()),
    ];
    for a in &anchors {
        assert_eq!(params(a.model()), params(&m), "{}", a.name());
    }
}
