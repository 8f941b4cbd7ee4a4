//! The per-token reward of RLHF with PPO (`docs/algorithms.md`):
//! `r_t = −β·(log π(y_t|s_t) − log π_ref(y_t|s_t))`, plus the sequence score `R(x, y)` on the
//! last response token.

/// Per-token rewards and the per-token KL term, `[b][t]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRewards {
    /// `r_t` (zero outside the mask).
    pub rewards: Vec<Vec<f32>>,
    /// `log π − log π_ref` per token (the k1 estimate of KL(π‖π_ref); zero outside the mask).
    pub kl: Vec<Vec<f32>>,
}

/// Builds `r_t` for each row: the KL penalty on every response token (`mask` 1) and `scores[i]`
/// added on the row's last response token. A row with no response token gets nothing.
pub fn token_rewards(
    logp: &[Vec<f32>],
    ref_logp: &[Vec<f32>],
    mask: &[Vec<f32>],
    scores: &[f32],
    beta: f64,
) -> TokenRewards {
    let mut rewards = Vec::with_capacity(logp.len());
    let mut kl = Vec::with_capacity(logp.len());
    for (i, ((lp, rp), m)) in logp.iter().zip(ref_logp).zip(mask).enumerate() {
        let k: Vec<f32> = lp
            .iter()
            .zip(rp)
            .zip(m)
            .map(|((a, b), m)| if *m > 0.5 { a - b } else { 0.0 })
            .collect();
        let mut r: Vec<f32> = k.iter().map(|k| (-beta * *k as f64) as f32).collect();
        if let Some(last) = m.iter().rposition(|&m| m > 0.5) {
            r[last] += scores[i];
        }
        rewards.push(r);
        kl.push(k);
    }
    TokenRewards { rewards, kl }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// β = 0.1, one row of 3 response tokens then padding:
    /// log π − log π_ref = [−1 − (−1.5), −2 − (−1), −0.5 − (−0.5)] = [0.5, −1, 0];
    /// r = −0.1·[0.5, −1, 0] + [0, 0, 2] = [−0.05, 0.1, 2.0]; padding stays 0.
    #[test]
    fn golden_penalty_and_score_on_last_token() {
        let out = token_rewards(
            &[vec![-1.0, -2.0, -0.5, -9.0]],
            &[vec![-1.5, -1.0, -0.5, -1.0]],
            &[vec![1.0, 1.0, 1.0, 0.0]],
            &[2.0],
            0.1,
        );
        assert_eq!(out.kl[0], vec![0.5, -1.0, 0.0, 0.0]);
        let want = [-0.05, 0.1, 2.0, 0.0];
        for t in 0..4 {
            assert!(
                (out.rewards[0][t] - want[t]).abs() < 1e-6,
                "{:?}",
                out.rewards
            );
        }
    }
}
