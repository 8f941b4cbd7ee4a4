//! f-DPG (Go et al., ICML 2023): golden values and limits of `f′`; by exact enumeration on a
//! 4-outcome softmax policy, the reverse-KL f-DPG gradient is `−1/β` times the gradient of the
//! KL-regularised RLHF objective and the importance-weighted, baselined estimator is unbiased;
//! the cumulative `Ẑ` is unbiased (and biased down by weight clipping); on the `synthetic` task
//! a few dozen JS steps against the gold reward raise the gold of fresh samples and lower the IS
//! estimate of `KL(p‖π)`; a pointwise constraint with an updating offline proposal runs without
//! NaN; bad settings are errors naming the field.
//! Measured on flex: gold 0.015 → 0.695 after 40 steps; over the first / last 10 steps the IS
//! estimate of KL(p‖π) 1.226 → 0.786 and of JS(p, π) 0.381 → 0.229; the learning test takes
//! about 7 s (ndarray: 0.042 → 0.664, KL 3.31 → 2.57, JS 0.53 → 0.37, 15 s).
//! Seeded: the numbers are the same on every run of a backend.

use rlp_core::With;
use std::time::Instant;

use proptest::prelude::*;
use rlp_core::burn::module::Module;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::to_f32;
use rlp_core::{FnReward, RewardFn, SeededRng};
use rlp_models::{CausalLm, GenerationConfig, SamplingParams, TextTokenizer, generate_text};
use rlp_policy_opt::fdpg::{
    Divergence, FdpgConfig, FdpgStats, FdpgTrainer, PartitionEstimate, Proposal, Target,
    importance_weight, log_ratio, loss_coefficients, pseudo_reward,
};
use rlp_tasks::Task;
use rlp_tasks::synthetic::{GOOD, base_policy, gold_score, synthetic, word_writer};

const LN2: f64 = std::f64::consts::LN_2;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

// ---------------------------------------------------------------------------------------------
// 1. f′: golden values, limits, monotonicity.

/// Golden `f′(t)` at t = ½, 1, 2:
/// - forward KL `−1/t`: −2, −1, −0.5;
/// - reverse KL `log t + 1`: 1 − ln 2 = 0.3068528, 1, 1 + ln 2 = 1.6931472;
/// - JS `log(2t/(1+t))`: log(1/1.5) = −0.4054651, log 1 = 0, log(4/3) = 0.2876821;
/// - TV `½ sign(log t)`: −0.5, 0 (sign 0 = 0), 0.5.
#[test]
fn f_prime_golden_values() {
    let cases = [
        (Divergence::ForwardKl, [-2.0, -1.0, -0.5]),
        (Divergence::ReverseKl, [1.0 - LN2, 1.0, 1.0 + LN2]),
        (
            Divergence::JensenShannon,
            [-(1.5f64.ln()), 0.0, (4.0f64 / 3.0).ln()],
        ),
        (Divergence::TotalVariation, [-0.5, 0.0, 0.5]),
    ];
    for (d, want) in cases {
        for (t, w) in [0.5, 1.0, 2.0].into_iter().zip(want) {
            assert!(
                close(d.f_prime(t), w, 1e-12),
                "{d:?} f′({t}) = {}",
                d.f_prime(t)
            );
            assert!(close(d.f_prime_log(t.ln()), w, 1e-12));
            // The trainer's pseudo-reward is −f′ (no clipping inside ±10).
            assert!(close(pseudo_reward(d, t.ln(), 10.0), -w, 1e-12));
        }
    }
    assert_eq!(Divergence::default(), Divergence::JensenShannon);
}

/// Limits at `t = 0` (π misses mass of p) and `t = ∞` (P = 0: a constraint violation):
/// - unclipped `f′`: forward KL −∞ / 0 (−1/t → 0), reverse KL −∞ / +∞, JS −∞ / log 2 (since
///   `log 2 − softplus(−s) → log 2` as `s → ∞`), TV −½ / ½; never NaN;
/// - the pseudo-reward `−f′` with `log t` clipped to ±10 is finite: at t = ∞ forward KL
///   `e^{−10}` = 4.540e-5, reverse KL −11, JS `−(log 2 − softplus(−10))` = −0.6931018, TV −½;
///   at t = 0 forward KL `e^{10}` = 22026.47, reverse KL 9, JS `softplus(10) − log 2`
///   = 9.3068982, TV ½.
#[test]
fn f_prime_limits_are_finite_or_clipped() {
    use Divergence::*;
    let inf = f64::INFINITY;
    let unclipped = [
        (ForwardKl, -inf, 0.0),
        (ReverseKl, -inf, inf),
        (JensenShannon, -inf, LN2),
        (TotalVariation, -0.5, 0.5),
    ];
    for (d, at0, at_inf) in unclipped {
        assert_eq!(d.f_prime(0.0), at0, "{d:?} at 0");
        assert_eq!(d.f_prime(inf), at_inf, "{d:?} at ∞");
        assert_eq!(d.f_prime_log(-inf), at0);
        assert_eq!(d.f_prime_log(inf), at_inf);
    }
    let sp10 = 10.0 + (-10.0f64).exp().ln_1p(); // softplus(10)
    let sp_m10 = (-10.0f64).exp().ln_1p(); // softplus(−10)
    let clipped = [
        (ForwardKl, (10.0f64).exp(), (-10.0f64).exp()),
        (ReverseKl, 9.0, -11.0),
        (JensenShannon, sp10 - LN2, -(LN2 - sp_m10)),
        (TotalVariation, 0.5, -0.5),
    ];
    for (d, at0, at_inf) in clipped {
        let (r0, r_inf) = (pseudo_reward(d, -inf, 10.0), pseudo_reward(d, inf, 10.0));
        assert!(r0.is_finite() && r_inf.is_finite(), "{d:?}: {r0} {r_inf}");
        assert!(
            close(r0, at0, 1e-9 * at0.abs().max(1.0)),
            "{d:?} at 0: {r0}"
        );
        assert!(close(r_inf, at_inf, 1e-12), "{d:?} at ∞: {r_inf}");
    }
    assert!(close(
        pseudo_reward(JensenShannon, inf, 10.0),
        -0.6931018,
        1e-7
    ));
    // log t itself: P = 0 gives +∞ whatever Ẑ; P > 0 with no Ẑ yet gives −∞; never NaN.
    assert_eq!(log_ratio(-3.0, f64::NEG_INFINITY, f64::NEG_INFINITY), inf);
    assert_eq!(log_ratio(-3.0, -1.0, f64::NEG_INFINITY), -inf);
    assert!(close(log_ratio(-3.0, -1.0, 0.5), -1.5, 1e-15));
}

proptest! {
    /// Each f is convex, so f′ is non-decreasing in t (over 12 decades), and the clipped
    /// pseudo-reward is non-increasing in log t (over all of ℝ, clip 10).
    #[test]
    fn f_prime_is_non_decreasing(a in -14.0f64..14.0, b in -14.0f64..14.0, s in -50.0f64..50.0) {
        let (lo, hi) = (a.min(b), a.max(b));
        for d in Divergence::ALL {
            let (f_lo, f_hi) = (d.f_prime(lo.exp()), d.f_prime(hi.exp()));
            prop_assert!(f_lo <= f_hi + 1e-12 * f_hi.abs().max(1.0), "{:?}: f′({}) = {} > f′({}) = {}", d, lo.exp(), f_lo, hi.exp(), f_hi);
            prop_assert!(pseudo_reward(d, s, 10.0) >= pseudo_reward(d, s + 1.0, 10.0) - 1e-12);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Reverse-KL f-DPG = KL-regularised RLHF, by exact enumeration.

fn softmax(logits: &[f64]) -> Vec<f64> {
    let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

/// `Σ_x weight(x)·∇_θ log π(x)` for a softmax policy over logits θ, where
/// `∇_θ log π(x) = e_x − π`.
fn score_function_sum(pi: &[f64], weight: impl Fn(usize) -> f64) -> Vec<f64> {
    let k = pi.len();
    let mut g = vec![0.0; k];
    for x in 0..k {
        let w = weight(x);
        for (j, gj) in g.iter_mut().enumerate() {
            *gj += w * (f64::from(u8::from(j == x)) - pi[j]);
        }
    }
    g
}

/// `J(θ) = E_π[r] − β·KL(π‖a)`.
fn rlhf_objective(theta: &[f64], a: &[f64], r: &[f64], beta: f64) -> f64 {
    let pi = softmax(theta);
    (0..pi.len())
        .map(|x| pi[x] * (r[x] - beta * (pi[x] / a[x]).ln()))
        .sum()
}

/// Derivation: for `p = a·e^{r/β}/Z`, `log t = log π − log a − r/β + log Z`, so reverse KL's
/// `f′(t) = log t + 1 = −(1/β)(r − β log(π/a)) + (log Z + 1)`. Hence
/// `E_π[f′(t) ∇log π] = −(1/β) E_π[(r − β log(π/a)) ∇log π] + (log Z + 1) E_π[∇log π]`, and the
/// last term is 0 because `E_π[∇log π] = Σ_x ∇π(x) = ∇1 = 0`. The first is `−(1/β)∇J` for
/// `J = E_π[r] − β KL(π‖a)` (the policy-gradient theorem, with `E_π[∇ log π] = 0` again absorbing
/// the `−β` from differentiating `log π` inside the KL). So the two gradients agree for any `Z`.
/// Checked on 4 outcomes, θ = (0.3, −0.5, 1.2, 0), a = (0.1, 0.2, 0.3, 0.4),
/// r = (1, −0.5, 0.3, 2), β = 0.5, for log Z ∈ {true, 0, 3.7, −8}; ∇J is also checked against
/// central differences of J. Then, for every divergence, the trainer's estimator — samples of an
/// offline q = (0.4, 0.3, 0.2, 0.1), weights w = π/q, pseudo-rewards R = −f′ and a baseline
/// B = 0.7 — has expectation `Σ_x q(x)·w(x)(R(x) − B)∇log π(x) = −E_π[f′(π/p)∇log π]`, i.e. the
/// loss `−mean w(R − B) log π` descends `D_f(π‖p)` without bias.
#[test]
fn reverse_kl_fdpg_gradient_is_rlhf_gradient_by_enumeration() {
    let theta = [0.3, -0.5, 1.2, 0.0];
    let a: [f64; 4] = [0.1, 0.2, 0.3, 0.4];
    let r = [1.0, -0.5, 0.3, 2.0];
    let beta = 0.5;
    let pi = softmax(&theta);
    let log_target: Vec<f64> = (0..4).map(|x| a[x].ln() + r[x] / beta).collect();
    let true_log_z = rlp_policy_opt::fdpg::log_sum_exp(&log_target);

    let rlhf = score_function_sum(&pi, |x| pi[x] * (r[x] - beta * (pi[x] / a[x]).ln()));
    // ∇J by central differences.
    for k in 0..4 {
        let h = 1e-6;
        let (mut up, mut down) = (theta, theta);
        up[k] += h;
        down[k] -= h;
        let numeric =
            (rlhf_objective(&up, &a, &r, beta) - rlhf_objective(&down, &a, &r, beta)) / (2.0 * h);
        assert!(
            close(numeric, rlhf[k], 1e-8),
            "∂J/∂θ{k}: {numeric} vs {}",
            rlhf[k]
        );
    }
    for log_z in [true_log_z, 0.0, 3.7, -8.0] {
        let fdpg = score_function_sum(&pi, |x| {
            let log_t = log_ratio(pi[x].ln(), log_target[x], log_z);
            pi[x] * Divergence::ReverseKl.f_prime_log(log_t)
        });
        for k in 0..4 {
            assert!(
                close(fdpg[k], -rlhf[k] / beta, 1e-12),
                "log Z {log_z}, θ{k}: {} vs {}",
                fdpg[k],
                -rlhf[k] / beta
            );
        }
    }

    // The off-policy, baselined estimator's expectation, for every divergence.
    let q: [f64; 4] = [0.4, 0.3, 0.2, 0.1];
    for d in Divergence::ALL {
        let log_t: Vec<f64> = (0..4)
            .map(|x| log_ratio(pi[x].ln(), log_target[x], true_log_z))
            .collect();
        let exact = score_function_sum(&pi, |x| pi[x] * d.f_prime_log(log_t[x]));
        let w: Vec<f64> = (0..4)
            .map(|x| importance_weight(pi[x].ln(), q[x].ln()))
            .collect();
        let rewards: Vec<f64> = log_t.iter().map(|&s| pseudo_reward(d, s, 1e3)).collect();
        let c = loss_coefficients(&w, &rewards, 0.7);
        let estimator = score_function_sum(&pi, |x| q[x] * c[x]);
        for k in 0..4 {
            assert!(close(estimator[k], -exact[k], 1e-12), "{d:?} θ{k}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Ẑ by importance sampling.

/// q = (0.5, 0.3, 0.2), P = (0.2, 0.9, 0.4), so Z = ΣP = 1.5 and w = P/q = (0.4, 3, 2):
/// - exactly, `E_q[P/q] = 0.5·0.4 + 0.3·3 + 0.2·2 = 1.5 = Z`;
/// - `Var_q[w] = E[w²] − Z² = (0.08 + 2.7 + 0.8) − 2.25 = 1.33`, so the mean of N = 20 000 draws
///   has standard error √(1.33/20 000) = 0.0082; the cumulative estimator (fed 200 batches of
///   100, seed 17) must be within 0.035 (≈ 4 SE) of 1.5;
/// - clipping each weight at c = 2.5 gives `E[min(w, c)] = 0.2 + 0.3·2.5 + 0.4 = 1.35 < Z`: the
///   clipped estimate on the same draws is lower and within 0.035 of 1.35 (a bias of −0.15,
///   18 SE).
#[test]
fn z_estimator_is_unbiased_and_clipping_biases_it_down() {
    let q: [f64; 3] = [0.5, 0.3, 0.2];
    let p: [f64; 3] = [0.2, 0.9, 0.4];
    let log_w: Vec<f64> = (0..3).map(|x| p[x].ln() - q[x].ln()).collect();
    let exact: f64 = (0..3).map(|x| q[x] * log_w[x].exp()).sum();
    assert!(close(exact, 1.5, 1e-12), "E_q[P/q] = {exact}");
    let exact_clipped: f64 = (0..3).map(|x| q[x] * log_w[x].exp().min(2.5)).sum();
    assert!(close(exact_clipped, 1.35, 1e-12));

    let mut rng = SeededRng::new(17);
    let (mut z, mut zc) = (
        PartitionEstimate::new(None),
        PartitionEstimate::new(Some(2.5)),
    );
    for _ in 0..200 {
        let batch: Vec<f64> = (0..100)
            .map(|_| {
                let u = rng.uniform();
                log_w[if u < 0.5 {
                    0
                } else if u < 0.8 {
                    1
                } else {
                    2
                }]
            })
            .collect();
        z.update(&batch);
        zc.update(&batch);
    }
    assert_eq!(z.count(), 20_000);
    let (est, est_c) = (z.log_z().exp(), zc.log_z().exp());
    eprintln!("Ẑ = {est:.4} (Z = 1.5), clipped at 2.5: {est_c:.4} (E = 1.35)");
    assert!(close(est, 1.5, 0.035), "Ẑ = {est}");
    assert!(close(est_c, 1.35, 0.035), "clipped Ẑ = {est_c}");
    assert!(est_c < est);
}

// ---------------------------------------------------------------------------------------------
// 4. Learning on `synthetic`; a pointwise target with an updating offline proposal.

fn gold() -> Box<dyn RewardFn> {
    Box::new(FnReward::new("synthetic-gold", |_p: &str, y: &str| {
        gold_score(y)
    }))
}

/// Mean gold of 2 samples per eval prompt (temperature 1, 12 new tokens, seeded).
fn mean_gold(model: &CausalLm, tokenizer: &TextTokenizer, task: &Task, seed: u64) -> f64 {
    let mut generation = GenerationConfig::default();
    generation.max_new_tokens = 12;
    generation.sampling = SamplingParams::default();
    let plain = model.valid();
    let mut rng = SeededRng::new(seed);
    let mut all = Vec::new();
    for _ in 0..2 {
        let out =
            generate_text(&plain, tokenizer, &task.eval_prompts, &generation, &mut rng).unwrap();
        all.extend(out.into_iter().map(|c| gold_score(&c.text) as f64));
    }
    all.iter().sum::<f64>() / all.len() as f64
}

fn flat(model: &CausalLm) -> Vec<f32> {
    to_f32(model.valid().embed_tokens.weight.val().reshape([-1]))
}

fn prompts(task: &Task, rng: &mut SeededRng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| task.train_prompts[rng.below(task.train_prompts.len())].clone())
        .collect()
}

fn mean_of(stats: &[FdpgStats], f: impl Fn(&FdpgStats) -> f64) -> f64 {
    stats.iter().map(f).sum::<f64>() / stats.len() as f64
}

/// The word writer (150 SFT steps, as `tests/ppo.rs`), then 40 JS f-DPG steps (32 samples, 12
/// new tokens, lr 1e-3, β = 0.1) towards `p ∝ a·exp(gold/β)`. Seeded (task 0, model 0, f-DPG
/// seed 5, prompt order 3, evaluation 11). Margins: the gold of 128 fresh samples on the eval
/// prompts rises by more than 0.4 (measured +0.68), the 10-step means of the IS estimates fall:
/// KL(p‖π) by more than 0.2 (measured −0.44), JS(p, π) by more than 0.05 (measured −0.15).
#[test]
fn js_fdpg_raises_gold_and_lowers_kl_to_the_target() {
    const STEPS: usize = 40;
    let clock = Instant::now();
    let task = synthetic(0);
    let device = test_backend().autodiff_device().unwrap();
    let start = word_writer(&task, 0, 150, &device).unwrap();
    let before = mean_gold(&start.model, &start.tokenizer, &task, 11);
    let mut config = FdpgConfig::default();
    config.lr = 1e-3;
    config.max_new_tokens = 12;
    config.seed = 5;
    let mut fdpg = FdpgTrainer::new(
        start.model.clone(),
        start.tokenizer.clone(),
        Target::Rlhf(gold()),
        config,
    )
    .unwrap();
    let mut rng = SeededRng::new(3);
    let mut stats = Vec::new();
    for _ in 0..STEPS {
        let s = fdpg.step(&prompts(&task, &mut rng, 32)).unwrap();
        assert!(s.loss.is_finite() && s.log_z.is_finite() && s.pseudo_reward.is_finite());
        assert!(s.estimates.kl_p_pi.is_finite() && s.acceptance.is_none());
        assert_eq!(s.importance_weight, 1.0);
        eprintln!(
            "TRACE {} kl {:.3} js {:.3} tv {:.3} r {:.3} R {:.3} B {:.3} logz {:.3} len {:.1}",
            s.step,
            s.estimates.kl_p_pi,
            s.estimates.js_p_pi,
            s.estimates.tv_p_pi,
            s.reward,
            s.pseudo_reward,
            s.baseline,
            s.log_z,
            s.response_len
        );
        stats.push(s);
    }
    let after = mean_gold(fdpg.policy(), &start.tokenizer, &task, 11);
    // Per-step IS estimates are heavy-tailed (a rare sample with p ≫ π dominates its batch), so
    // compare the means over the first and the last 10 steps (320 samples each).
    let window =
        |f: fn(&FdpgStats) -> f64| (mean_of(&stats[..10], f), mean_of(&stats[STEPS - 10..], f));
    let (kl_first, kl_last) = window(|s| s.estimates.kl_p_pi);
    let (js_first, js_last) = window(|s| s.estimates.js_p_pi);
    let (r_first, r_last) = window(|s| s.reward);
    eprintln!(
        "gold on eval prompts {before:.3} → {after:.3}; over the first / last 10 steps: batch \
         reward {r_first:.3} → {r_last:.3}, IS KL(p‖π) {kl_first:.3} → {kl_last:.3}, \
         JS(p, π) {js_first:.3} → {js_last:.3}; log Ẑ {:.3}; {:.1} s",
        fdpg.log_z(),
        clock.elapsed().as_secs_f64(),
    );
    assert!(after > before + 0.4, "gold {before} → {after}");
    assert!(kl_last < kl_first - 0.2, "KL(p‖π) {kl_first} → {kl_last}");
    assert!(js_last < js_first - 0.05, "JS(p, π) {js_first} → {js_last}");

    // The policy moved; the initial model (the target's a) did not.
    let moved = flat(fdpg.policy())
        .iter()
        .zip(flat(&start.model))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "policy weights did not change ({moved})");
    assert_eq!(flat(fdpg.initial()), flat(&start.model));
}

/// `b(x) = 1` iff the response has a good word. Offline proposal (the initial model) with DPG's
/// update rule, reverse KL (whose pseudo-reward at a violation, t = ∞, is the clipped −11) and
/// a per-prompt Ẑ over 4 prompts × 4 samples: every statistic stays finite, the acceptance rate
/// is reported, the first step's importance weights are 1 (π = q = a) up to f32 rounding.
#[test]
fn pointwise_target_with_offline_proposal_stays_finite() {
    let task = synthetic(0);
    let device = test_backend().autodiff_device().unwrap();
    let start = word_writer(&task, 0, 40, &device).unwrap();
    let has_good =
        |_p: &str, y: &str| f32::from(u8::from(y.split_whitespace().any(|w| GOOD.contains(&w))));
    let mut config = FdpgConfig::default();
    config.divergence = Divergence::ReverseKl;
    config.lr = 1e-3;
    config.batch_size = 16;
    config.max_new_tokens = 8;
    config.proposal = Proposal::Offline { update: true };
    config.z_per_prompt = true;
    config.seed = 1;
    let mut fdpg = FdpgTrainer::new(
        start.model.clone(),
        start.tokenizer.clone(),
        Target::Pointwise(Box::new(FnReward::new("has-good", has_good))),
        config,
    )
    .unwrap();
    let four: Vec<String> = task.train_prompts[..4].to_vec();
    let mut updates = 0;
    for i in 0..6 {
        let s = fdpg.step(&four).unwrap();
        eprintln!(
            "step {}: acceptance {:?}, KL(p‖π) {:.3}, KL(p‖q) {:?}, R {:.3}, w {:.3}, updated {}",
            s.step,
            s.acceptance,
            s.estimates.kl_p_pi,
            s.kl_p_q,
            s.pseudo_reward,
            s.importance_weight,
            s.proposal_updated
        );
        let acc = s.acceptance.expect("pointwise targets report acceptance");
        assert!((0.0..=1.0).contains(&acc));
        assert!(s.loss.is_finite() && s.pseudo_reward.is_finite() && s.baseline.is_finite());
        assert!(s.estimates.kl_p_pi.is_finite() && s.estimates.tv_p_pi.is_finite());
        assert!(s.estimates.js_p_pi.is_finite() && s.kl_p_q.unwrap().is_finite());
        if i == 0 {
            // π = q = a, but log π comes from the autodiff device and log q from the plain one:
            // equal up to f32 rounding.
            assert!(
                close(s.importance_weight, 1.0, 1e-4),
                "{}",
                s.importance_weight
            );
        }
        updates += usize::from(s.proposal_updated);
    }
    for p in &four {
        assert!(fdpg.prompt_log_z(p).is_some());
    }
    assert!(fdpg.prompt_log_z("never seen").is_none());
    assert!(fdpg.proposal().is_some());
    eprintln!("proposal updated {updates} times in 6 steps");
}

// ---------------------------------------------------------------------------------------------
// 5. Bad settings.

#[test]
fn bad_configs_are_errors_naming_the_field() {
    let cases: Vec<(&str, FdpgConfig)> = vec![
        ("kl_beta", FdpgConfig::default().with(|c| c.kl_beta = 0.0)),
        (
            "kl_beta",
            FdpgConfig::default().with(|c| c.kl_beta = f64::NAN),
        ),
        ("lr", FdpgConfig::default().with(|c| c.lr = -1e-5)),
        (
            "weight_decay",
            FdpgConfig::default().with(|c| c.weight_decay = -0.1),
        ),
        (
            "max_grad_norm",
            FdpgConfig::default().with(|c| c.max_grad_norm = Some(0.0)),
        ),
        (
            "batch_size",
            FdpgConfig::default().with(|c| c.batch_size = 0),
        ),
        (
            "max_new_tokens",
            FdpgConfig::default().with(|c| c.max_new_tokens = 0),
        ),
        (
            "log_ratio_clip",
            FdpgConfig::default().with(|c| c.log_ratio_clip = 0.0),
        ),
        (
            "log_ratio_clip",
            FdpgConfig::default().with(|c| c.log_ratio_clip = f64::INFINITY),
        ),
        (
            "z_weight_clip",
            FdpgConfig::default().with(|c| c.z_weight_clip = Some(-1.0)),
        ),
    ];
    for (field, config) in cases {
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(&format!("`{field}`")), "{field}: {err}");
    }
    FdpgConfig::default().validate().unwrap();

    // Unknown fields are rejected; a TOML config round-trips.
    assert!(toml::from_str::<FdpgConfig>("temperature = 0.7").is_err());
    let c: FdpgConfig = toml::from_str(
        "divergence = \"total-variation\"\nbeta = 0.5\n[proposal]\nkind = \"offline\"\nupdate = false",
    )
    .unwrap();
    assert_eq!(c.divergence, Divergence::TotalVariation);
    assert_eq!(c.proposal, Proposal::Offline { update: false });

    // The trainer refuses bad configs, plain-device policies and empty prompt lists.
    let task = synthetic(0);
    let plain = test_backend().device().unwrap();
    let base = base_policy(&task, 0, &plain).unwrap();
    let mut bad = FdpgConfig::default();
    bad.lr = 0.0;
    let err = FdpgTrainer::new(
        base.model.clone(),
        base.tokenizer.clone(),
        Target::Rlhf(gold()),
        bad,
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("`lr`"), "{err}");
    let err = FdpgTrainer::new(
        base.model.clone(),
        base.tokenizer.clone(),
        Target::Rlhf(gold()),
        FdpgConfig::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("autodiff"), "{err}");
    let ad = test_backend().autodiff_device().unwrap();
    let policy = base_policy(&task, 0, &ad).unwrap();
    let mut t = FdpgTrainer::new(
        policy.model,
        policy.tokenizer,
        Target::Rlhf(gold()),
        FdpgConfig::default(),
    )
    .unwrap();
    let err = t.step(&[]).unwrap_err();
    assert!(err.to_string().contains("`prompts`"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// 5. Resume: the whole state (weights, AdamW, the proposal, Ẑ per prompt, the baseline).

/// f-DPG driven by `rlp_train::drive` with a checkpoint every 2 steps: a run stopped after step 3
/// (its newest checkpoint is step 2) and resumed ends with the uninterrupted run's weights, bit
/// for bit, and the same statistics. The pointwise target with an updating offline proposal and
/// per-prompt Ẑ carries every piece of the state.
#[test]
fn resumed_fdpg_matches_the_uninterrupted_run() {
    use rlp_policy_opt::fdpg::FdpgRun;
    use rlp_train::interrupted_and_whole;
    let task = synthetic(0);
    let device = test_backend().autodiff_device().unwrap();
    let start = word_writer(&task, 0, 40, &device).unwrap();
    let has_good =
        |_p: &str, y: &str| f32::from(u8::from(y.split_whitespace().any(|w| GOOD.contains(&w))));
    let run = || {
        let mut config = FdpgConfig::default();
        config.divergence = Divergence::ReverseKl;
        config.lr = 1e-3;
        config.batch_size = 8;
        config.max_new_tokens = 6;
        config.proposal = Proposal::Offline { update: true };
        config.z_per_prompt = true;
        config.seed = 2;
        let t = FdpgTrainer::new(
            start.model.clone(),
            start.tokenizer.clone(),
            Target::Pointwise(Box::new(FnReward::new("has-good", has_good))),
            config,
        )
        .unwrap();
        FdpgRun::new(t, &task.train_prompts, &(), SeededRng::new(2), 5).unwrap()
    };
    let weights = |r: &FdpgRun| rlp_models::checkpoint::host_tensors(&r.trainer.policy().valid());
    let dir = rlp_core::ScratchDir::new("fdpg-resume").unwrap();
    let (resumed, full) = interrupted_and_whole(run, &dir, 2, 3).unwrap();
    assert_eq!(resumed.trainer.steps(), 5);
    assert!(
        weights(&resumed) == weights(&full),
        "weights differ after resuming"
    );
    assert_eq!(resumed.trainer.log_z(), full.trainer.log_z());
    for p in &task.train_prompts {
        assert_eq!(
            resumed.trainer.prompt_log_z(p),
            full.trainer.prompt_log_z(p)
        );
    }
}
