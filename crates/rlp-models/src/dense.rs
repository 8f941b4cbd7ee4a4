//! Linear maps as one 2-D matrix product. burn's `Linear::forward` on a rank-3 input
//! broadcasts the weight to a batched matmul, which on the CPU backends costs a weight-sized copy
//! per call (≈ 1 ms for a 576 × 1536 weight against 0.12 ms for the product itself, measured on
//! flex). Flattening the leading dimensions into rows avoids it; the result is the same.

use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;

/// `x·W (+ b)` for `x: [.., d_in]` with burn's `[d_in, d_out]` weight, over the flattened rows.
///
/// A weight carrying a LoRA adapter `(A, B, s)` ([`crate::lora`]) computes `x·W + s·(x·A)·B`:
/// the same map as `x·(W + s·A·B)`, without the dense `[d_in, d_out]` composition or, under
/// autodiff, its gradient. A quantized base (QLoRA) is dequantized for the product.
pub fn linear<const D: usize>(l: &Linear, x: Tensor<D>) -> Tensor<D> {
    linear_adapted(l, x, None)
}

/// [`linear`] with LoRA's dropout on the adapter's input: `x·W + s·(dropout(x)·A)·B`. burn's
/// [`Dropout`] acts only on an autodiff device and while its layer trains; under the training
/// driver its mask is a function of the step ([`crate::lora::dropout_step`]).
pub fn linear_adapted<const D: usize>(
    l: &Linear,
    x: Tensor<D>,
    dropout: Option<&Dropout>,
) -> Tensor<D> {
    let dims = x.dims();
    let d_in = dims[D - 1];
    let rows = dims[..D - 1].iter().product();
    let x = x.reshape([rows, d_in]);
    let (mut y, d_out) = match l.weight.adapter() {
        Some(adapter) => {
            let w = l.weight.base().dequantize();
            let d_out = w.dims()[1];
            let adapter_input = match dropout {
                Some(d) => {
                    crate::lora::seed_dropout(&x.device());
                    d.forward(x.clone())
                }
                None => x.clone(),
            };
            let low_rank = adapter_input
                .matmul(adapter.a.val())
                .matmul(adapter.b.val())
                .mul_scalar(adapter.scale);
            (x.matmul(w) + low_rank, d_out)
        }
        _ => {
            let w = l.weight.val();
            let d_out = w.dims()[1];
            (x.matmul(w), d_out)
        }
    };
    if let Some(b) = &l.bias {
        y = y + b.val().unsqueeze_dim(0);
    }
    let mut out = dims;
    out[D - 1] = d_out;
    y.reshape(out)
}

/// `x·Eᵀ` for `x: [.., d]` and an embedding table `E: [n, d]` (the tied LM head), over the
/// flattened rows.
pub fn times_transposed<const D: usize>(x: Tensor<D>, e: Tensor<2>) -> Tensor<D> {
    let dims = x.dims();
    let d = dims[D - 1];
    let rows = dims[..D - 1].iter().product();
    let n = e.dims()[0];
    let y = x.reshape([rows, d]).matmul(e.transpose());
    let mut out = dims;
    out[D - 1] = n;
    y.reshape(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{floats, to_f32};

    #[test]
    fn matches_burns_linear_and_the_tied_head() {
        let d = test_backend().device().unwrap();
        let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
        let l = Linear {
            weight: burn::module::Param::from_tensor(floats(w.clone(), [3, 4], &d)),
            bias: Some(burn::module::Param::from_tensor(floats(
                vec![0.5, -0.5, 1.0, 0.0],
                [4],
                &d,
            ))),
        };
        let x = floats((0..18).map(|i| (i as f32).sin()).collect(), [2, 3, 3], &d);
        let ours = to_f32(linear(&l, x.clone()));
        let burns = to_f32(l.forward(x.clone()));
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // Golden: row x = [1, 2, 3] with E = [[1, 0, 0], [0, 1, 1]] gives x·Eᵀ = [1, 5].
        let e = floats(vec![1., 0., 0., 0., 1., 1.], [2, 3], &d);
        let y = to_f32(times_transposed(floats(vec![1., 2., 3.], [1, 1, 3], &d), e));
        assert_eq!(y, vec![1.0, 5.0]);
    }
}
