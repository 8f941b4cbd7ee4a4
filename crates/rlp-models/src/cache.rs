//! The key/value cache for incremental decoding.

use burn::tensor::Tensor;

/// Keys and values of one layer, `[batch, kv_heads, time, head_dim]` (before GQA repetition).
#[derive(Debug, Clone)]
pub struct LayerCache {
    /// Cached keys (already rotated).
    pub keys: Tensor<4>,
    /// Cached values.
    pub values: Tensor<4>,
}

/// A per-layer cache plus the number of positions it holds.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    /// One entry per decoder layer, `None` until the first forward.
    pub layers: Vec<Option<LayerCache>>,
    /// Positions cached so far (the key length of the next step's attention, minus new tokens).
    pub len: usize,
}

impl KvCache {
    /// An empty cache for `n_layers` layers.
    pub fn new(n_layers: usize) -> Self {
        Self {
            layers: vec![None; n_layers],
            len: 0,
        }
    }

    /// Appends new keys/values to layer `i` and returns the full keys/values.
    pub fn append(
        &mut self,
        i: usize,
        keys: Tensor<4>,
        values: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let (k, v) = match self.layers[i].take() {
            None => (keys, values),
            Some(c) => (
                Tensor::cat(vec![c.keys, keys], 2),
                Tensor::cat(vec![c.values, values], 2),
            ),
        };
        self.layers[i] = Some(LayerCache {
            keys: k.clone(),
            values: v.clone(),
        });
        (k, v)
    }
}
