//! Sentence pooling as sentence-transformers does it: the mean of the token vectors over the
//! attention mask, and L2 normalisation (its `Pooling(mean)` and `Normalize` modules).

use burn::tensor::{Int, Tensor};

/// Masked mean over the sequence: `hidden: [b, s, d]`, `attention_mask: [b, s]` (1 = real
/// token) → `[b, d]`, `Σ_t mask·h / max(Σ_t mask, 1e-9)`. A row without real tokens gives zeros.
pub fn mean_pool(hidden: Tensor<3>, attention_mask: Tensor<2, Int>) -> Tensor<2> {
    let [b, s, d] = hidden.dims();
    let m = attention_mask.float().reshape([b, s, 1]);
    let sum = (hidden * m.clone()).sum_dim(1).reshape([b, d]);
    let count = m.sum_dim(1).reshape([b, 1]).clamp_min(1e-9);
    sum / count
}

/// Scales each row of `x: [b, d]` to unit Euclidean norm: `x / max(‖x‖₂, 1e-12)` (as
/// `torch.nn.functional.normalize`); a zero row stays zero.
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{floats, ints, to_f32};

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn mean_pool_ignores_padding_golden() {
        let d = test_backend().device().unwrap();
        // Row 0: tokens (1,2), (3,4) real, (100,-100) padding → mean ((1+3)/2, (2+4)/2) = (2, 3).
        // Row 1: all three real → ((0+6+3)/3, (3+0+0)/3) = (3, 1).
        // Row 2: no real token → 0 / max(0, 1e-9) = (0, 0).
        let h = floats(
            vec![
                1., 2., 3., 4., 100., -100., //
                0., 3., 6., 0., 3., 0., //
                5., 5., 5., 5., 5., 5.,
            ],
            [3, 3, 2],
            &d,
        );
        let m = ints(vec![1, 1, 0, 1, 1, 1, 0, 0, 0], [3, 3], &d);
        let pooled = mean_pool(h, m);
        close(&to_f32(pooled.clone()), &[2., 3., 3., 1., 0., 0.]);
        // ‖(2,3)‖ = √13, ‖(3,1)‖ = √10; the zero row stays zero (0 / 1e-12).
        let (r13, r10) = (13f32.sqrt(), 10f32.sqrt());
        close(
            &to_f32(l2_normalize(pooled)),
            &[2. / r13, 3. / r13, 3. / r10, 1. / r10, 0., 0.],
        );
    }
}
