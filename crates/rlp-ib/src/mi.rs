//! Neural lower bounds on mutual information from a learned critic `T(a, b)`: the
//! Jensen–Shannon estimator RLP-UML maximises (Hjelm et al. 2019, eq. 4; the `MIEstimator` of
//! Federici et al. 2020's code) and InfoNCE (van den Oord et al. 2018, eq. 4), for the
//! contrastive ablation.
//!
//! - JS: positives are the aligned rows `(a_i, b_i)`, negatives pair `b_i` with `a_{i−1}` (`a`
//!   rolled by one position within the batch, so the batch needs `B ≥ 2`):
//!   `I_JS = −mean softplus(−T(a_i, b_i)) − mean softplus(T(a_{i−1}, b_i))`.
//!   This is `E_P[log σ(T)] + E_Q[log(1 − σ(T))]`, whose supremum over `T` is
//!   `2·JSD(P_joint ‖ P_a ⊗ P_b) − log 4` (Nowozin et al. 2016): it lies in `[−∞, 0]`, equals
//!   `−log 4` for a critic that cannot tell the pairs apart, and grows with the dependence.
//! - InfoNCE: the score matrix `S_ij = T(a_i, b_j)` (the same concatenation critic on all
//!   `B²` pairs, in-batch negatives), `I_NCE = log B + mean_i (S_ii − logsumexp_j S_ij)`,
//!   which is at most `min(I(a; b), log B)` in expectation.

use burn::module::Module;
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor};
use rlp_core::SeededRng;

use crate::mlp::Mlp3;

/// `T(a, b) = MLP([a; b])`, a scalar per row.
#[derive(Module, Debug)]
pub struct Critic {
    /// `d_a + d_b → hidden → hidden → 1`.
    pub net: Mlp3,
}

impl Critic {
    /// A fresh critic on `[a; b]` with `a` `d_a` wide and `b` `d_b` wide.
    pub fn init(
        d_a: usize,
        d_b: usize,
        hidden: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        Self {
            net: Mlp3::init(d_a + d_b, hidden, 1, rng, device),
        }
    }

    /// `a` `[n, d_a]`, `b` `[n, d_b]` → `T(a_i, b_i)` `[n]`.
    pub fn forward(&self, a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
        self.net
            .forward(Tensor::cat(vec![a, b], 1))
            .squeeze_dim::<1>(1)
    }
}

/// The Jensen–Shannon objective `I_JS(a; b)` of the module docs on a batch of aligned
/// rows `a` `[B, d_a]`, `b` `[B, d_b]` (`B ≥ 2`) → a one-element tensor (to be maximised).
pub fn js_mi(critic: &Critic, a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    let pos = critic.forward(a.clone(), b.clone());
    let neg = critic.forward(a.roll_dim(1, 0), b);
    softplus(pos.neg(), 1.0).mean().neg() - softplus(neg, 1.0).mean()
}

/// `S_ij = T(a_i, b_j)` for every pair of rows, `[B, B]`.
pub fn score_matrix(critic: &Critic, a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let [n, da] = a.dims();
    let [_, db] = b.dims();
    let a_rows = a
        .unsqueeze_dim::<3>(1)
        .repeat_dim(1, n)
        .reshape([n * n, da]);
    let b_rows = b
        .unsqueeze_dim::<3>(0)
        .repeat_dim(0, n)
        .reshape([n * n, db]);
    critic.forward(a_rows, b_rows).reshape([n, n])
}

/// `logsumexp` over each row of `[B, C]` → `[B]`, shifted by the row maximum for stability.
pub fn logsumexp_rows(s: Tensor<2>) -> Tensor<1> {
    let m = s.clone().max_dim(1).detach();
    ((s - m.clone()).exp().sum_dim(1).log() + m).squeeze_dim::<1>(1)
}

/// InfoNCE `I_NCE(a; b) = log B + mean_i (S_ii − logsumexp_j S_ij)` on aligned rows → a
/// one-element tensor (to be maximised); never above `log B`.
pub fn infonce_mi(critic: &Critic, a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    let [n, _] = a.dims();
    let device = a.device();
    let s = score_matrix(critic, a, b);
    let diag = (s.clone() * Tensor::<2>::eye(n, &device))
        .sum_dim(1)
        .squeeze_dim::<1>(1);
    (diag - logsumexp_rows(s)).mean() + (n as f64).ln()
}
