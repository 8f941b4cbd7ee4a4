//! Moving data between host vectors and tensors.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// A float tensor of the given shape from host values (row-major).
pub fn floats<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// An int tensor of the given shape from host token ids (row-major).
pub fn ints<const D: usize>(
    values: Vec<i64>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D, Int> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Reads a float tensor back as `f32` values (row-major).
pub fn to_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32 above")
}

/// Reads an int tensor back as `i64` values (row-major).
pub fn to_i64<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .expect("converted to i64 above")
}

/// The largest `|a_i − b_i|` of two equally long slices (`∞` when their lengths differ, so a
/// tolerance check fails rather than passing on a prefix): how parity and equivalence tests
/// compare logits.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Reads a one-element float tensor as `f64`.
pub fn scalar(t: Tensor<1>) -> f64 {
    to_f32(t)[0] as f64
}

#[cfg(test)]
mod tests {
    use super::max_abs_diff;

    #[test]
    fn max_abs_diff_is_the_largest_gap_and_refuses_unequal_lengths() {
        // Golden: |1 − 1.5| = 0.5, |2 − 0| = 2, |−3 − (−3)| = 0.
        assert_eq!(max_abs_diff(&[1.0, 2.0, -3.0], &[1.5, 0.0, -3.0]), 2.0);
        assert_eq!(max_abs_diff(&[], &[]), 0.0);
        assert_eq!(max_abs_diff(&[1.0], &[1.0, 2.0]), f32::INFINITY);
    }
}
