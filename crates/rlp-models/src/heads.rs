//! Heads on the decoder's final hidden states: a per-token value head (PPO's critic) and a
//! scalar score head read at the last real token (reward models).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor};
use rlp_core::SeededRng;

use crate::init;

/// `V(s_t)` for every position: a `d → 1` linear map with bias.
#[derive(Module, Debug)]
pub struct ValueHead {
    /// The projection (`v_head` in checkpoints).
    pub proj: Linear,
}

impl ValueHead {
    /// A head with weights `N(0, std²)` and zero bias.
    pub fn init(d: usize, std: f64, rng: &mut SeededRng, device: &Device) -> Self {
        let mut proj = init::linear(rng, d, 1, std, device);
        proj.bias = Some(burn::module::Param::from_tensor(Tensor::zeros([1], device)));
        Self { proj }
    }

    /// `[b, t, d] → [b, t]`.
    pub fn forward(&self, hidden: Tensor<3>) -> Tensor<2> {
        crate::dense::linear(&self.proj, hidden).squeeze_dim(2)
    }
}

/// A scalar score per sequence, read from the hidden state of its last real token.
#[derive(Module, Debug)]
pub struct ScoreHead {
    /// The projection (`score` in HF sequence-classification checkpoints).
    pub proj: Linear,
}

impl ScoreHead {
    /// A head with weights `N(0, std²)` and zero bias.
    pub fn init(d: usize, std: f64, rng: &mut SeededRng, device: &Device) -> Self {
        Self {
            proj: ValueHead::init(d, std, rng, device).proj,
        }
    }

    /// `hidden [b, t, d]`, `last [b]` (index of each row's last real token) → scores `[b]`.
    pub fn forward(&self, hidden: Tensor<3>, last: Tensor<1, Int>) -> Tensor<1> {
        self.score(last_hidden(hidden, last))
    }

    /// `h [b, d]` (already read at each row's last real token) → scores `[b]`.
    pub fn score(&self, h: Tensor<2>) -> Tensor<1> {
        crate::dense::linear(&self.proj, h).squeeze_dim(1)
    }
}

/// `hidden [b, t, d]`, `last [b]` → `[b, d]`: each row's hidden state at its index in `last`
/// (the last real token of a right-padded batch), what sequence-level heads read.
pub fn last_hidden(hidden: Tensor<3>, last: Tensor<1, Int>) -> Tensor<2> {
    let [b, _, d] = hidden.dims();
    let idx = last.reshape([b, 1, 1]).expand([b, 1, d]);
    hidden.gather(1, idx).squeeze_dim::<2>(1)
}

/// Index of the last 1 in each row of a host-side `[b][t]` mask (0 for an empty row).
pub fn last_real_index(mask: &[Vec<f32>]) -> Vec<i64> {
    mask.iter()
        .map(|row| row.iter().rposition(|&m| m > 0.5).unwrap_or(0) as i64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{floats, ints, to_f32};

    #[test]
    fn score_head_reads_the_last_real_token() {
        let d = test_backend().device().unwrap();
        let mut rng = SeededRng::new(0);
        let mut head = ScoreHead::init(2, 0.02, &mut rng, &d);
        // w = [1, 10], b = 0 → score = h₀ + 10·h₁ at the chosen position.
        head.proj.weight = burn::module::Param::from_tensor(floats(vec![1.0, 10.0], [2, 1], &d));
        let hidden = floats(
            vec![1., 0., 2., 0., 0., 3., 5., 5., 0., 1., 9., 9.],
            [2, 3, 2],
            &d,
        );
        let last = last_real_index(&[vec![1., 1., 0.], vec![1., 1., 1.]]);
        assert_eq!(last, vec![1, 2]);
        let s = to_f32(head.forward(hidden, ints(last, [2], &d)));
        assert_eq!(s, vec![2.0, 99.0]);
    }
}
