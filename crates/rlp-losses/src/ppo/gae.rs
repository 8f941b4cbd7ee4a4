//! Generalised advantage estimation (Schulman et al. 2016; `docs/algorithms.md`, "Standard RLHF with
//! PPO"): `δ_t = r_t + γ·V_{t+1} − V_t`, `A_t = δ_t + γλ·A_{t+1}`, returns `G_t = A_t + V_t`.

/// Advantages and returns of one batch, `[b][t]` like the inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Gae {
    /// `A_t` (zero outside the mask).
    pub advantages: Vec<Vec<f32>>,
    /// `G_t = A_t + V_t` (zero outside the mask).
    pub returns: Vec<Vec<f32>>,
}

/// GAE over each row's response tokens. `mask[i][t]` is 1 on response tokens, which come first
/// in a row (a right-padded response); past the last one `V` and `A` are 0, so the last token's
/// `δ = r − V` bootstraps from nothing (the episode ends there). Computed backwards in f32, on
/// the host: rollouts are at most a few hundred tokens wide.
pub fn gae(
    rewards: &[Vec<f32>],
    values: &[Vec<f32>],
    mask: &[Vec<f32>],
    gamma: f32,
    lambda: f32,
) -> Gae {
    let mut advantages = Vec::with_capacity(rewards.len());
    let mut returns = Vec::with_capacity(rewards.len());
    for ((r, v), m) in rewards.iter().zip(values).zip(mask) {
        let t_len = r.len();
        let mut a = vec![0.0f32; t_len];
        let (mut next_value, mut next_adv) = (0.0f32, 0.0f32);
        for t in (0..t_len).rev() {
            if m[t] < 0.5 {
                next_value = 0.0;
                next_adv = 0.0;
                continue;
            }
            let delta = r[t] + gamma * next_value - v[t];
            a[t] = delta + gamma * lambda * next_adv;
            next_value = v[t];
            next_adv = a[t];
        }
        let g = a
            .iter()
            .zip(v)
            .zip(m)
            .map(|((a, v), m)| if *m < 0.5 { 0.0 } else { a + v })
            .collect();
        advantages.push(a);
        returns.push(g);
    }
    Gae {
        advantages,
        returns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One row, γ = 1, λ = 0.95, r = [0, 0, 1], V = [0.5, 0.2, 0.1], then a padded step:
    /// δ₂ = 1 + 0 − 0.1 = 0.9,        A₂ = 0.9;
    /// δ₁ = 0 + 0.1 − 0.2 = −0.1,     A₁ = −0.1 + 0.95·0.9 = 0.755;
    /// δ₀ = 0 + 0.2 − 0.5 = −0.3,     A₀ = −0.3 + 0.95·0.755 = 0.41725;
    /// G = A + V = [0.91725, 0.955, 1.0]; the padded step stays 0.
    #[test]
    fn golden_three_steps() {
        let out = gae(
            &[vec![0.0, 0.0, 1.0, 7.0]],
            &[vec![0.5, 0.2, 0.1, 3.0]],
            &[vec![1.0, 1.0, 1.0, 0.0]],
            1.0,
            0.95,
        );
        let want_a = [0.41725, 0.755, 0.9, 0.0];
        let want_g = [0.91725, 0.955, 1.0, 0.0];
        for t in 0..4 {
            assert!((out.advantages[0][t] - want_a[t]).abs() < 1e-6, "{out:?}");
            assert!((out.returns[0][t] - want_g[t]).abs() < 1e-6, "{out:?}");
        }
    }

    /// With γ = 0.5, λ = 0 the advantage is the one-step TD error: r = [1, 2], V = [1, 1]:
    /// A₁ = 2 − 1 = 1, A₀ = 1 + 0.5·1 − 1 = 0.5.
    #[test]
    fn golden_td_zero() {
        let out = gae(
            &[vec![1.0, 2.0]],
            &[vec![1.0, 1.0]],
            &[vec![1.0, 1.0]],
            0.5,
            0.0,
        );
        assert_eq!(out.advantages[0], vec![0.5, 1.0]);
    }

    proptest! {
        /// Against the closed form `A_t = Σ_{l ≥ 0} (γλ)^l δ_{t+l}` over the real steps, with
        /// `δ_t = r_t + γ V_{t+1} − V_t` and `V` zero past the end.
        #[test]
        fn matches_the_closed_form(
            rows in prop::collection::vec(
                (prop::collection::vec((-2.0f32..2.0, -2.0f32..2.0), 1..12), 0usize..12),
                1..5,
            ),
            gamma in 0.5f32..1.0,
            lambda in 0.0f32..1.0,
        ) {
            let t_len = rows.iter().map(|(v, _)| v.len()).max().unwrap();
            let mut r = vec![]; let mut v = vec![]; let mut m = vec![]; let mut lens = vec![];
            for (steps, cut) in &rows {
                let n = (*cut).min(steps.len()).max(1);
                let mut rr = vec![0.0; t_len]; let mut vv = vec![0.0; t_len]; let mut mm = vec![0.0; t_len];
                for t in 0..n { rr[t] = steps[t].0; vv[t] = steps[t].1; mm[t] = 1.0; }
                r.push(rr); v.push(vv); m.push(mm); lens.push(n);
            }
            let out = gae(&r, &v, &m, gamma, lambda);
            for (i, &n) in lens.iter().enumerate() {
                let val = |t: usize| if t < n { v[i][t] as f64 } else { 0.0 };
                let delta: Vec<f64> = (0..n)
                    .map(|t| r[i][t] as f64 + gamma as f64 * val(t + 1) - val(t))
                    .collect();
                for t in 0..n {
                    let want: f64 = (t..n)
                        .map(|k| (gamma as f64 * lambda as f64).powi((k - t) as i32) * delta[k])
                        .sum();
                    prop_assert!((out.advantages[i][t] as f64 - want).abs() < 1e-4);
                    prop_assert!((out.returns[i][t] - out.advantages[i][t] - v[i][t]).abs() < 1e-5);
                }
                for t in n..t_len {
                    prop_assert_eq!(out.advantages[i][t], 0.0);
                }
            }
        }
    }
}
