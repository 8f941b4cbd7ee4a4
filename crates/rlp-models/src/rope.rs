//! Rotary position embeddings in the Hugging Face Llama convention (rotate-half), with a
//! position per row and token so left-padded batches and cached decoding place every real token
//! at its true position.
//!
//! For head width `h` and position `p`, frequency `ω_i = θ^(-2i/h)` for `i < h/2`; with
//! `c = cos(p·ω)`, `s = sin(p·ω)` repeated over both halves,
//! `RoPE(x) = x ⊙ c + rotate_half(x) ⊙ s`, `rotate_half([x₁, x₂]) = [-x₂, x₁]`
//! (Su et al., RoFormer, eq. 34, in the half-split layout).

use burn::tensor::{Device, Tensor, TensorData};

/// The cos/sin tables for one forward pass, shaped `[batch, 1, time, head_dim]`.
#[derive(Debug, Clone)]
pub struct RopeTables {
    /// `cos(p·ω)`.
    pub cos: Tensor<4>,
    /// `sin(p·ω)`.
    pub sin: Tensor<4>,
}

/// Builds the tables for float positions `[batch, time]`.
pub fn rope_tables(
    positions: Tensor<2>,
    head_dim: usize,
    theta: f64,
    device: &Device,
) -> RopeTables {
    let half = head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| (theta.powf(-(2.0 * i as f64) / head_dim as f64)) as f32)
        .collect();
    let inv = Tensor::<3>::from_data(TensorData::new(inv_freq, [1, 1, half]), device);
    let angles = positions.unsqueeze_dim::<3>(2) * inv; // [b, t, half]
    let emb = Tensor::cat(vec![angles.clone(), angles], 2); // [b, t, head_dim]
    RopeTables {
        cos: emb.clone().cos().unsqueeze_dim(1),
        sin: emb.sin().unsqueeze_dim(1),
    }
}

/// Applies the rotation to `x` of shape `[batch, heads, time, head_dim]`.
pub fn apply_rope(x: Tensor<4>, tables: &RopeTables) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().slice([0..b, 0..h, 0..t, 0..half]);
    let x2 = x.clone().slice([0..b, 0..h, 0..t, half..d]);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * tables.cos.clone() + rotated * tables.sin.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{floats, to_f32};

    // Golden: head_dim 2, θ anything → ω₀ = 1. Position 1 rotates (1, 0) by 1 radian:
    // (x₁c - x₂s, x₂c + x₁s) = (cos 1, sin 1) = (0.540302, 0.841471). Position 0 is the identity.
    #[test]
    fn golden_rotation() {
        let d = test_backend().device().unwrap();
        let tables = rope_tables(floats(vec![0.0, 1.0], [1, 2], &d), 2, 10_000.0, &d);
        let x = floats(vec![1.0, 0.0, 1.0, 0.0], [1, 1, 2, 2], &d);
        let y = to_f32(apply_rope(x, &tables));
        let want = [1.0, 0.0, 0.540302, 0.841471];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{y:?}");
        }
    }

    // Rotations preserve norms and make q·k depend only on the position difference.
    #[test]
    fn relative_position_property() {
        let d = test_backend().device().unwrap();
        let mut r = rlp_core::SeededRng::new(5);
        let q = r.normal_vec(8, 1.0);
        let k = r.normal_vec(8, 1.0);
        let dot_at = |pq: f32, pk: f32| {
            let tq = rope_tables(floats(vec![pq], [1, 1], &d), 8, 100.0, &d);
            let tk = rope_tables(floats(vec![pk], [1, 1], &d), 8, 100.0, &d);
            let a = to_f32(apply_rope(floats(q.clone(), [1, 1, 1, 8], &d), &tq));
            let b = to_f32(apply_rope(floats(k.clone(), [1, 1, 1, 8], &d), &tk));
            a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>()
        };
        assert!((dot_at(3.0, 1.0) - dot_at(12.0, 10.0)).abs() < 1e-4);
    }
}
