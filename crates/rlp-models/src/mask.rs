//! Attention masks and positions from a `[batch, time]` padding mask (1 = real token).

use burn::tensor::{Bool, Device, Int, Tensor};

/// Positions of each token: the number of real tokens before it (`cumsum(mask) - 1`, floored
/// at 0), offset by `past` real positions per row when decoding with a cache.
pub fn positions_from_mask(mask: Tensor<2>) -> Tensor<2> {
    (mask.cumsum(1) - 1.0).clamp_min(0.0)
}

/// Boolean attention mask `[batch, heads, q, k]`, `true` = blocked. Query `i` (global index
/// `past + i`) may see key `j` when `j ≤ past + i` and key `j` is a real token; a padding query
/// may always see itself, so no row is fully blocked (those rows' outputs are never used).
pub fn attention_mask(
    key_mask: Tensor<2>,
    q_len: usize,
    heads: usize,
    device: &Device,
) -> Tensor<4, Bool> {
    let [b, k_len] = key_mask.dims();
    let past = k_len - q_len;
    let rows = Tensor::<1, Int>::arange(past as i64..k_len as i64, device)
        .reshape([q_len, 1])
        .expand([q_len, k_len]);
    let cols = Tensor::<1, Int>::arange(0..k_len as i64, device)
        .reshape([1, k_len])
        .expand([q_len, k_len]);
    let causal = cols.clone().greater(rows.clone());
    let diag = cols.equal(rows);
    let key_pad = key_mask
        .lower_elem(0.5)
        .reshape([b, 1, 1, k_len])
        .expand([b, 1, q_len, k_len]);
    let keep_self = diag
        .bool_not()
        .reshape([1, 1, q_len, k_len])
        .expand([b, 1, q_len, k_len]);
    let causal = causal
        .reshape([1, 1, q_len, k_len])
        .expand([b, 1, q_len, k_len]);
    causal
        .bool_or(key_pad.bool_and(keep_self))
        .expand([b, heads, q_len, k_len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{floats, to_f32};

    /// Host copy of a bool tensor (via ints: backends store bools differently).
    fn blocked(mask: Tensor<4, Bool>) -> Vec<bool> {
        rlp_core::tensor_io::to_i64(mask.int())
            .iter()
            .map(|&x| x != 0)
            .collect()
    }

    #[test]
    fn left_padded_positions_and_mask() {
        let d = test_backend().device().unwrap();
        let m = floats(vec![0., 1., 1., 1., 1., 1.], [2, 3], &d);
        assert_eq!(
            to_f32(positions_from_mask(m.clone())),
            vec![0., 0., 1., 0., 1., 2.]
        );
        let v = blocked(attention_mask(m, 3, 1, &d));
        // row 0: pad query 0 sees itself only; query 1 sees 1; query 2 sees 1,2.
        assert_eq!(
            &v[0..9],
            &[false, true, true, true, false, true, true, false, false]
        );
        // row 1: plain causal.
        assert_eq!(
            &v[9..18],
            &[false, true, true, false, false, true, false, false, false]
        );
    }

    #[test]
    fn decoding_step_sees_all_real_past_keys() {
        let d = test_backend().device().unwrap();
        let m = floats(vec![0., 1., 1., 1.], [1, 4], &d);
        let v = blocked(attention_mask(m, 1, 1, &d));
        assert_eq!(v, vec![true, false, false, false]);
    }
}
