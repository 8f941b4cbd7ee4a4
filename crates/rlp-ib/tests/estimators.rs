//! The mutual-information estimators against distributions whose information is known:
//! `k`-dimensional standard Gaussians `a`, `b` with correlation `ρ` in each dimension
//! (`b = ρ·a + √(1−ρ²)·ε`), so `I(a; b) = −(k/2)·log(1 − ρ²)`. A small critic is trained with
//! AdamW on fresh samples every step, then evaluated on fresh samples.
//!
//! - JS: `I_JS ≤ 2·JSD(P_joint ‖ P_a ⊗ P_b) − log 4 ≤ 0` (the supremum over critics; the JSD is
//!   computed by Monte Carlo from the known densities), `I_JS ≈ −log 4` at `ρ = 0`, and `I_JS`
//!   grows with `ρ`.
//! - InfoNCE: `I_NCE ≤ min(I, log B)`; close to `I` when `I ≪ log B`, close to `log B` when
//!   `I ≫ log B`.

use rlp_core::SeededRng;
use rlp_core::With;
use rlp_core::burn::tensor::{Device, Tensor};
use rlp_core::device::test_backend;
use rlp_core::tensor_io::{floats, scalar};
use rlp_ib::{Critic, infonce_mi, js_mi};
use rlp_train::{AdamW, OptimConfig};

const LN_4: f64 = 1.386_294_361_119_890_6;

/// `n` rows of `k` correlated pairs, as host vectors.
fn correlated(rng: &mut SeededRng, rho: f64, n: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let s = (1.0 - rho * rho).sqrt();
    let a: Vec<f64> = (0..n * k).map(|_| rng.normal()).collect();
    let b = a.iter().map(|x| rho * x + s * rng.normal()).collect();
    (a, b)
}

fn tensors(a: &[f64], b: &[f64], k: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let t = |v: &[f64]| {
        floats(
            v.iter().map(|&x| x as f32).collect(),
            [v.len() / k, k],
            device,
        )
    };
    (t(a), t(b))
}

/// `JSD(P ‖ Q) = ½·E_P[log 2p/(p+q)] + ½·E_Q[log 2q/(p+q)]` for `P` the joint and `Q` the
/// product of the marginals, by Monte Carlo over `n` draws of each (in nats).
fn jsd(rho: f64, k: usize, n: usize, rng: &mut SeededRng) -> f64 {
    let r2 = 1.0 - rho * rho;
    // log p − log q per row; the log 2π terms cancel.
    let log_ratio = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                -0.5 * r2.ln() - (x * x - 2.0 * rho * x * y + y * y) / (2.0 * r2)
                    + (x * x + y * y) / 2.0
            })
            .sum()
    };
    // log(2p/(p+q)) = log 2 − softplus(−(log p − log q)), and symmetrically for q.
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let (mut from_p, mut from_q) = (0.0, 0.0);
    for _ in 0..n {
        let (a, b) = correlated(rng, rho, 1, k);
        from_p += std::f64::consts::LN_2 - softplus(-log_ratio(&a, &b));
        let (a, b) = correlated(rng, 0.0, 1, k);
        from_q += std::f64::consts::LN_2 - softplus(log_ratio(&a, &b));
    }
    (from_p + from_q) / (2.0 * n as f64)
}

type Estimator = fn(&Critic, Tensor<2>, Tensor<2>) -> Tensor<1>;

/// Trains a fresh critic (hidden width 32) to maximise `estimate` for `steps` steps of `batch`
/// rows, then returns the estimate averaged over `eval_batches` fresh batches.
fn train_and_eval(
    estimate: Estimator,
    rho: f64,
    k: usize,
    batch: usize,
    steps: usize,
    eval_batches: usize,
) -> f64 {
    let device = test_backend().autodiff_device().unwrap();
    let mut rng = SeededRng::new(17).fork(&format!("rho-{rho}"));
    let mut critic = Critic::init(k, k, 32, &mut rng.fork("critic"), &device);
    let mut optim = AdamW::new(OptimConfig::default().with(|c| {
        c.lr = 3e-3;
        c.weight_decay = 0.0;
        c.max_grad_norm = None;
    }));
    for _ in 0..steps {
        let (a, b) = correlated(&mut rng, rho, batch, k);
        let (a, b) = tensors(&a, &b, k, &device);
        let loss = estimate(&critic, a, b).neg();
        critic = optim.minimize(critic, loss, 3e-3).unwrap().0;
    }
    let mut sum = 0.0;
    for _ in 0..eval_batches {
        let (a, b) = correlated(&mut rng, rho, batch, k);
        let (a, b) = tensors(&a, &b, k, &device);
        sum += scalar(estimate(&critic, a, b).detach());
    }
    sum / eval_batches as f64
}

fn mi(rho: f64, k: usize) -> f64 {
    -(k as f64) / 2.0 * (1.0 - rho * rho).ln()
}

/// k = 2, batches of 256, 300 steps. Evaluated on 16 fresh batches (4096 rows; the standard
/// error of the estimate is below 0.01), so 0.03 of slack covers evaluation noise.
#[test]
fn js_estimator_respects_its_bounds_and_grows_with_dependence() {
    let (k, batch) = (2, 256);
    let mut rng = SeededRng::new(5);
    let mut last = f64::NEG_INFINITY;
    for rho in [0.0, 0.5, 0.9] {
        let bound = 2.0 * jsd(rho, k, 100_000, &mut rng) - LN_4;
        let js = train_and_eval(js_mi, rho, k, batch, 300, 16);
        eprintln!(
            "ρ = {rho}: I = {:.3}, I_JS = {js:.4}, 2·JSD − log 4 = {bound:.4}",
            mi(rho, k)
        );
        assert!(bound <= 1e-9, "ρ = {rho}: bound {bound} above 0");
        assert!(js <= bound + 0.03, "ρ = {rho}: I_JS {js} above {bound}");
        // The critic gets close to the supremum (it is a lower bound that training tightens).
        assert!(js >= bound - 0.1, "ρ = {rho}: I_JS {js} far below {bound}");
        assert!(js > last, "ρ = {rho}: I_JS {js} did not grow (was {last})");
        last = js;
        if rho == 0.0 {
            // Independent: p = q, so the JSD is exactly 0 and no critic beats −log 4.
            assert!((bound + LN_4).abs() < 1e-9, "{bound}");
            assert!((js + LN_4).abs() < 0.03, "I_JS {js} vs −log 4");
        }
    }
}

/// InfoNCE with batches of B = 64 (log B = 4.159): at ρ = 0.5, k = 2, `I = −log 0.75 = 0.288`
/// ≪ log B, so a trained critic gets most of it and never (beyond evaluation noise over 16
/// batches, < 0.02) more. At ρ = 0.99, k = 4, `I = −2·log(0.0199) = 7.83` ≫ log B: the estimate
/// saturates just below log B.
#[test]
fn infonce_is_below_min_of_mi_and_log_batch() {
    let (b, log_b) = (64, (64f64).ln());
    let small = train_and_eval(infonce_mi, 0.5, 2, b, 300, 16);
    let big = train_and_eval(infonce_mi, 0.99, 4, b, 300, 16);
    eprintln!(
        "I_NCE {small:.4} (I = {:.4}), {big:.4} (I = {:.3}, log B = {log_b:.3})",
        mi(0.5, 2),
        mi(0.99, 4)
    );
    assert!(small <= mi(0.5, 2) + 0.03, "{small}");
    assert!(small >= 0.6 * mi(0.5, 2), "{small}");
    assert!(big <= log_b + 1e-6, "{big}");
    assert!(big >= log_b - 0.6, "{big}");
}

/// The head warm-up learns the shared information of two views from frozen features: `h1`,
/// `h2` are 8-dimensional with correlation 0.9 per dimension (I = 6.6 nats). Before training
/// the JS estimate sits near `−log 4` (no information); after 300 steps at lr 1e-3 it is well
/// above it. With 0 steps there is no estimate, and a seed fixes the result.
#[test]
fn head_warm_up_learns_the_shared_information() {
    use rlp_ib::{HeadShape, IbHead, Objective, warm_up_head};
    let device = test_backend().autodiff_device().unwrap();
    let mut rng = SeededRng::new(11);
    let (a, b) = correlated(&mut rng, 0.9, 256, 8);
    let (h1, h2) = tensors(&a, &b, 8, &device);
    let shape = HeadShape {
        d: 8,
        z_dim: 8,
        encoder_hidden: 64,
        critic_hidden: 64,
    };
    let run = |steps: usize| {
        let head = IbHead::init(Objective::Mvi, shape, &mut SeededRng::new(1), &device);
        warm_up_head(head, &h1, &h2, steps, 64, 1e-3, 0.0, &mut SeededRng::new(2))
            .unwrap()
            .1
    };
    assert_eq!(run(0), None);
    let first = run(1).unwrap();
    assert!((first + LN_4).abs() < 0.2, "untrained estimate {first}");
    let trained = run(300).unwrap();
    assert!(trained > -LN_4 + 0.5, "after warm-up {trained}");
    assert_eq!(run(300), Some(trained), "seeded");
}
