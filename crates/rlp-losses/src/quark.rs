//! Quark's objective (Lu et al., NeurIPS 2022, eq. 2–3): for a pool sample `(x, y)` in quantile
//! `k`, per response token `t`,
//!
//! `ℓ_t = −log π(y_t | r_k, x, y_<t) + β·KL(π(·|r_k, x, y_<t) ‖ π₀(·|x, y_<t)) − α·H(π(·|r_k, x, y_<t))`,
//!
//! averaged over the response tokens of the minibatch (a token-level mean, as Quark's
//! `reduce_mean(lm_loss + kl_coef·kl − entropy_coef·entropy, mask)`). The KL and the entropy are
//! **exact** sums over the vocabulary, not sample estimates. π₀ is the frozen initial model,
//! without the reward token in its context and with its original `V` ids.
//!
//! The `K` reward-token ids are inputs only: π's output distribution is its softmax over the
//! first `V` logits, i.e. π **renormalised over the original vocabulary** (equivalently, the new
//! ids' logits masked to `−∞`). All three terms use it: the KL then compares two distributions
//! on the same `V` ids, the NLL of a response (which never contains a reward token) is that of
//! the distribution sampling uses (`rlp_models::vocab::suppress_outputs` masks the same ids at
//! generation), and the new ids' output logits get no gradient. Quark's implementation also
//! slices the policy logits to the original vocabulary before the KL.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use rlp_core::masked::masked_mean;
use rlp_core::tensor_io::scalar;
use serde::{Deserialize, Serialize};

/// Token means of Quark's loss (Lu et al., NeurIPS 2022) and its three terms: NLL, exact KL to
/// π₀, exact entropy (host values, before the update).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct QuarkLossStats {
    /// `NLL + β·KL − α·H`.
    pub loss: f64,
    /// `−log π(y_t | r_k, x, y_<t)`.
    pub nll: f64,
    /// Exact `KL(π ‖ π₀)` over the original vocabulary.
    pub kl: f64,
    /// Exact `H(π)` over the original vocabulary.
    pub entropy: f64,
}

/// Quark's loss (module docs) from the policy's logits `[b, R, V']` at the response positions
/// (`V' ≥ V`: columns `V …` — the reward tokens — are ignored), π₀'s logits `[b, R, V]` at the
/// same positions (treated as constants), the response tokens `[b, R]` (ids `< V`) and the
/// response mask `[b, R]` (1 on real tokens), with KL coefficient `beta` (β) and entropy
/// coefficient `alpha` (α). Returns the one-element loss tensor (differentiable through the
/// policy logits) and its token means.
///
/// # Panics
/// When the shapes disagree or the policy has fewer ids than π₀.
pub fn quark_loss(
    policy_logits: Tensor<3>,
    ref_logits: Tensor<3>,
    targets: Tensor<2, Int>,
    mask: Tensor<2>,
    beta: f64,
    alpha: f64,
) -> (Tensor<1>, QuarkLossStats) {
    let [b, r, vp] = policy_logits.dims();
    let [rb, rr, v] = ref_logits.dims();
    assert!(
        (rb, rr) == (b, r) && v <= vp,
        "quark_loss: policy logits {:?} vs reference logits {:?}",
        [b, r, vp],
        [rb, rr, v]
    );
    let logits = if vp == v {
        policy_logits
    } else {
        policy_logits.slice([0..b, 0..r, 0..v])
    };
    let logp = log_softmax(logits, 2);
    let p = logp.clone().exp();
    let log_ref = log_softmax(ref_logits.detach(), 2);
    let nll = logp
        .clone()
        .gather(2, targets.unsqueeze_dim(2))
        .squeeze_dim::<2>(2)
        .neg();
    let kl = (p.clone() * (logp.clone() - log_ref))
        .sum_dim(2)
        .squeeze_dim::<2>(2);
    let entropy = (p * logp).sum_dim(2).squeeze_dim::<2>(2).neg();
    let per_token = nll.clone() + kl.clone() * beta - entropy.clone() * alpha;
    let loss = masked_mean(per_token, mask.clone());
    let mean = |x: Tensor<2>| scalar(masked_mean(x.detach(), mask.clone()));
    let stats = QuarkLossStats {
        loss: scalar(loss.clone().detach()),
        nll: mean(nll),
        kl: mean(kl),
        entropy: mean(entropy),
    };
    (loss, stats)
}
