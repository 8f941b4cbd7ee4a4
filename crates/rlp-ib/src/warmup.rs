//! Head warm-up before RLP-UML's joint retraining: the encoder and critic start from random
//! weights, and at a reward model's learning rate (1e-5 to 1e-4) over a retraining of a few
//! dozen steps they learn next to nothing, so `L_M`'s gradient into the reward model would come
//! from a random critic. RLP does not say how its head was trained; this is a documented choice:
//! fit the head alone, at its own learning rate, on the reward model's frozen representations
//! of the view pairs, then train everything jointly.

use burn::tensor::Tensor;
use rlp_core::SeededRng;
use rlp_core::With;
use rlp_reward::{EncodedPair, RewardModel, collate_scores};
use rlp_train::{AdamW, OptimConfig};

use crate::error::Result;
use crate::head::IbHead;

/// Sequences per forward pass when computing the frozen representations.
const CHUNK: usize = 64;

/// The reward model's representations `h [n, d]` of every view's first and second response,
/// detached (no gradient reaches the reward model).
pub fn frozen_views(rm: &RewardModel, views: &[EncodedPair], pad: u32) -> (Tensor<2>, Tensor<2>) {
    let device = rm.backbone.device();
    let embed = |seqs: Vec<&[u32]>| {
        let parts: Vec<Tensor<2>> = seqs
            .chunks(CHUNK)
            .map(|c| {
                rm.score_and_hidden(&collate_scores(c, pad, &device))
                    .1
                    .detach()
            })
            .collect();
        Tensor::cat(parts, 0)
    };
    (
        embed(views.iter().map(|v| v.chosen.as_slice()).collect()),
        embed(views.iter().map(|v| v.rejected.as_slice()).collect()),
    )
}

/// `steps` AdamW steps (constant `lr`, gradient norm clipped at 1) of the head alone on
/// batches of `batch` frozen view pairs drawn by a seeded shuffle, at SKL weight `beta`.
/// Returns the head and the mutual-information estimate of its last step (`None` for 0 steps).
pub fn warm_up_head(
    mut head: IbHead,
    h1: &Tensor<2>,
    h2: &Tensor<2>,
    steps: usize,
    batch: usize,
    lr: f64,
    beta: f64,
    rng: &mut SeededRng,
) -> Result<(IbHead, Option<f64>)> {
    let n = h1.dims()[0];
    let batch = batch.min(n).max(1);
    let mut optim = AdamW::new(OptimConfig::default().with(|c| {
        c.lr = lr;
        c.weight_decay = 0.0;
        c.max_grad_norm = Some(1.0);
    }));
    let mut order: Vec<usize> = (0..n).collect();
    let mut pos = n;
    let mut last = None;
    for _ in 0..steps {
        if pos + batch > n {
            rng.shuffle(&mut order);
            pos = 0;
        }
        let idx: Vec<i64> = order[pos..pos + batch].iter().map(|&i| i as i64).collect();
        pos += batch;
        let device = h1.device();
        let idx = rlp_core::tensor_io::ints(idx, [batch], &device);
        let (loss, stats) = head.loss(
            h1.clone().select(0, idx.clone()),
            h2.clone().select(0, idx),
            beta,
            rng,
        );
        last = Some(stats.mi);
        head = optim.minimize(head, loss, lr)?.0;
    }
    Ok((head, last))
}
