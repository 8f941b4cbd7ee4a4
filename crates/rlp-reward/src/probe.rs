//! A linear probe on a frozen backbone: the cheap way to put a reward head on a large pretrained
//! model on a CPU. Each text goes through the backbone once ([`extract_features`]: the final
//! hidden state `h_T` at the last real token); then only the head's weights `w` are fitted, by
//! the Bradley–Terry loss on the feature differences,
//!
//! `L(w) = mean_i softplus(−w·(h_w,i − h_l,i)) + (λ/2)‖w‖²`
//!
//! (the head's bias cancels in `r_w − r_l`, so it stays 0), with full-batch Adam on the host in
//! f64 ([`fit_probe`]). Features are standardised per dimension for the fit and the scaling is
//! folded back into `w`, so the result is an ordinary [`RewardModel`] head.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use rlp_core::tensor_io::to_f32;
use rlp_models::{CausalLm, TextTokenizer};

use crate::encode::{EncodedPair, collate_scores};
use crate::model::RewardModel;

/// Probe fitting settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ProbeConfig {
    /// Full-batch Adam iterations.
    pub iterations: usize,
    /// Adam step size.
    pub lr: f64,
    /// `λ`: L2 penalty on the standardised weights.
    pub l2: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            iterations: 500,
            lr: 0.01,
            l2: 1e-2,
        }
    }
}

/// `h_T` `[d]` of every sequence, `batch` sequences per forward pass (sorted by length so each
/// batch pads little); `progress(done, total)` after each batch.
pub fn extract_features(
    backbone: &CausalLm,
    seqs: &[&[u32]],
    pad_id: u32,
    batch: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<Vec<f32>> {
    let device = backbone.device();
    let d = backbone.config.hidden_size;
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| seqs[i].len());
    let mut out = vec![Vec::new(); seqs.len()];
    let mut done = 0;
    for chunk in order.chunks(batch.max(1)) {
        let rows: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i]).collect();
        let b = collate_scores(&rows, pad_id, &device);
        let hidden = backbone.hidden_states(b.tokens, None);
        let n = chunk.len();
        let idx = b.last.reshape([n, 1, 1]).expand([n, 1, d]);
        let h = to_f32(hidden.gather(1, idx));
        for (&i, v) in chunk.iter().zip(h.chunks_exact(d)) {
            out[i] = v.to_vec();
        }
        done += n;
        progress(done, seqs.len());
    }
    out
}

/// Fits `w` on feature pairs `(h_w, h_l)`; returns `w` in the original feature scale.
pub fn fit_probe(chosen: &[Vec<f32>], rejected: &[Vec<f32>], config: &ProbeConfig) -> Vec<f32> {
    let n = chosen.len();
    assert!(
        n > 0 && n == rejected.len(),
        "need equally many chosen and rejected features"
    );
    let d = chosen[0].len();
    let diffs: Vec<Vec<f64>> = chosen
        .iter()
        .zip(rejected)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| f64::from(x - y)).collect())
        .collect();
    // Per-dimension scale of the differences (their RMS), so one λ suits every backbone.
    let scale: Vec<f64> = (0..d)
        .map(|j| {
            let ms = diffs.iter().map(|v| v[j] * v[j]).sum::<f64>() / n as f64;
            ms.sqrt().max(1e-8)
        })
        .collect();
    let z: Vec<Vec<f64>> = diffs
        .iter()
        .map(|v| v.iter().zip(&scale).map(|(x, s)| x / s).collect())
        .collect();
    let (b1, b2, eps) = (0.9, 0.999, 1e-8);
    let (mut w, mut m, mut v) = (vec![0.0f64; d], vec![0.0f64; d], vec![0.0f64; d]);
    for t in 1..=config.iterations {
        let mut grad: Vec<f64> = w.iter().map(|wj| config.l2 * wj).collect();
        for zi in &z {
            let s: f64 = zi.iter().zip(&w).map(|(a, b)| a * b).sum();
            // d/ds softplus(−s) = −σ(−s)
            let g = -1.0 / (1.0 + s.exp());
            for (gj, zij) in grad.iter_mut().zip(zi) {
                *gj += g * zij / n as f64;
            }
        }
        for j in 0..d {
            m[j] = b1 * m[j] + (1.0 - b1) * grad[j];
            v[j] = b2 * v[j] + (1.0 - b2) * grad[j] * grad[j];
            let mh = m[j] / (1.0 - b1.powi(t as i32));
            let vh = v[j] / (1.0 - b2.powi(t as i32));
            w[j] -= config.lr * mh / (vh.sqrt() + eps);
        }
    }
    w.iter()
        .zip(&scale)
        .map(|(wj, s)| (wj / s) as f32)
        .collect()
}

/// The probe's full recipe on encoded pairs: features of both sides, fit, and the fitted head
/// written into `model` (bias 0). Returns the model and its training-set accuracy and mean
/// Bradley–Terry loss (without the L2 term).
pub fn train_probe(
    mut model: RewardModel,
    tokenizer: &TextTokenizer,
    pairs: &[EncodedPair],
    config: &ProbeConfig,
    batch: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> (RewardModel, f64, f64) {
    let pad = tokenizer.pad_id.unwrap_or(0);
    let seqs: Vec<&[u32]> = pairs
        .iter()
        .map(|p| p.chosen.as_slice())
        .chain(pairs.iter().map(|p| p.rejected.as_slice()))
        .collect();
    let feats = extract_features(&model.backbone, &seqs, pad, batch, progress);
    let (fw, fl) = feats.split_at(pairs.len());
    let w = fit_probe(fw, fl, config);
    let score = |h: &[f32]| h.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>();
    let (sw, sl): (Vec<f32>, Vec<f32>) =
        fw.iter().zip(fl).map(|(a, b)| (score(a), score(b))).unzip();
    let acc = crate::bradley_terry::pair_accuracy(&sw, &sl);
    // softplus(−Δ) = ln(1 + e^{−Δ}), written to stay finite for large |Δ|.
    let loss = sw
        .iter()
        .zip(&sl)
        .map(|(a, b)| {
            let x = -f64::from(a - b);
            x.max(0.0) + (-x.abs()).exp().ln_1p()
        })
        .sum::<f64>()
        / sw.len() as f64;
    let device = model.backbone.device();
    let d = w.len();
    model.head.proj.weight =
        Param::from_tensor(Tensor::from_data(TensorData::new(w, [d, 1]), &device));
    model.head.proj.bias = Some(Param::from_tensor(Tensor::zeros([1], &device)));
    (model, acc, loss)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features; the preference depends on feature 0 only, and feature 1 is noise 100×
    /// larger. Standardisation makes the fit ignore the scale: w₀ > 0 and the probe ranks every
    /// pair right; the loss at w = 0 is ln 2 and must fall.
    #[test]
    fn fits_a_separable_preference_despite_scales() {
        let mut chosen = Vec::new();
        let mut rejected = Vec::new();
        for i in 0..40 {
            let noise = ((i * 37 % 11) as f32 - 5.0) * 100.0;
            chosen.push(vec![1.0 + (i % 3) as f32, noise]);
            rejected.push(vec![(i % 3) as f32 - 0.5, -noise]);
        }
        let w = fit_probe(&chosen, &rejected, &ProbeConfig::default());
        assert!(w[0] > 0.0, "{w:?}");
        let s = |h: &[f32]| h[0] * w[0] + h[1] * w[1];
        let right = chosen
            .iter()
            .zip(&rejected)
            .filter(|(a, b)| s(a) > s(b))
            .count();
        assert_eq!(right, 40, "{w:?}");
    }
}
