//! Data-parallel gradient averaging: the step between `backward` and the optimiser that makes
//! R ranks, each holding the same weights and a shard of the global minibatch, take the step
//! one process would take on the whole minibatch.
//!
//! Rank r computes the loss `L_r` of its shard, a mean over `w_r` units (examples, or tokens
//! for a token-mean loss), and its gradient `g_r = ∇L_r`. The loss of the global minibatch is
//! the weighted mean of the shards' means, and its gradient follows by linearity:
//!
//! ```text
//! W = Σ_r w_r,    L = Σ_r (w_r / W) · L_r,    ∇L = Σ_r (w_r / W) · g_r.
//! ```
//!
//! [`all_reduce_gradients`] computes both with the group's sums: one of the two scalars
//! `(w_r·L_r, w_r)`, then one of every trainable parameter's gradient scaled by `w_r / W`,
//! flattened into a single buffer in the module's parameter order (the same on every rank).
//! Each rank ends with the same `∇L` and the same `L`, so the same optimiser update keeps the
//! weights identical, and a non-finite loss on any rank is non-finite on all of them.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use rlp_core::parallel::{Collective, world};

use rlp_models::{ModelError, Result};

/// Averages this rank's `grads` (of `module`'s parameters) and `loss` (a mean over `weight`
/// units) over the data-parallel ranks of [`world`], as the module documentation derives.
/// Returns the global minibatch's gradients and loss; in a one-process group, `grads` and
/// `loss` unchanged. A rank may weigh 0 (a shard with no unit, such as a token-mean loss
/// whose tokens are all masked); when every rank does, the ranks count alike.
pub fn all_reduce_gradients<M: Module>(
    module: &M,
    grads: GradientsParams,
    loss: f64,
    weight: f64,
) -> Result<(GradientsParams, f64)> {
    let group = world();
    if group.size() == 1 {
        return Ok((grads, loss));
    }
    reduce_with(group, module, grads, loss, weight)
}

/// [`all_reduce_gradients`] over an explicit group.
pub fn reduce_with<M: Module>(
    group: &dyn Collective,
    module: &M,
    grads: GradientsParams,
    loss: f64,
    weight: f64,
) -> Result<(GradientsParams, f64)> {
    if !(weight.is_finite() && weight >= 0.0) {
        return Err(ModelError::input(
            "weight",
            format!("a shard's loss weight must be finite and not negative, got {weight}"),
        ));
    }
    // A weightless shard's loss (often 0/0) must not poison the sum.
    let weighted = if weight > 0.0 { loss * weight } else { 0.0 };
    let mut sums = [weighted, weight, loss];
    group.sum_f64(&mut sums);
    let (global, scale) = if sums[1] > 0.0 {
        (sums[0] / sums[1], (weight / sums[1]) as f32)
    } else {
        let ranks = group.size() as f64;
        (sums[2] / ranks, (1.0 / ranks) as f32)
    };

    // Flatten: each trainable parameter's scaled gradient (zeros where this rank has none),
    // then one presence count per parameter, so a parameter no rank has a gradient for stays
    // without one (as in a one-process step).
    let mut flat = Flatten {
        grads: &grads,
        scale,
        values: Vec::new(),
        present: Vec::new(),
    };
    module.visit(&mut flat);
    let Flatten {
        mut values,
        present,
        ..
    } = flat;
    let n = values.len();
    values.extend(present);
    group.sum_f32(&mut values);

    let mut unflatten = Unflatten {
        grads,
        values: &values[..n],
        present: &values[n..],
        offset: 0,
        index: 0,
    };
    module.visit(&mut unflatten);
    Ok((unflatten.grads, global))
}

/// Writes the scaled gradients of the trainable parameters into one buffer, in visit order.
struct Flatten<'a> {
    grads: &'a GradientsParams,
    scale: f32,
    values: Vec<f32>,
    present: Vec<f32>,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        match self.grads.get::<D>(param.id) {
            Some(g) => {
                let data = g.into_data().convert::<f32>();
                let g: Vec<f32> = data.try_into_vec::<f32>().expect("converted to f32");
                self.values.extend(g.iter().map(|x| x * self.scale));
                self.present.push(1.0);
            }
            None => {
                let numel: usize = param.shape().num_elements();
                self.values.extend(std::iter::repeat_n(0.0, numel));
                self.present.push(0.0);
            }
        }
    }
}

/// Reads the summed buffer back into gradient tensors, in the same visit order.
struct Unflatten<'a> {
    grads: GradientsParams,
    values: &'a [f32],
    present: &'a [f32],
    offset: usize,
    index: usize,
}

impl ModuleVisitor for Unflatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        let shape = param.shape();
        let numel: usize = shape.num_elements();
        let slice = &self.values[self.offset..self.offset + numel];
        self.offset += numel;
        let present = self.present[self.index] > 0.0;
        self.index += 1;
        if !present {
            return;
        }
        let old = self.grads.remove::<D>(param.id);
        let device = match &old {
            Some(g) => g.device(),
            None => param.val().inner().device(),
        };
        let dtype = old.as_ref().map(|g| g.dtype());
        let data = TensorData::new(slice.to_vec(), shape);
        let mut g = Tensor::<D>::from_data(data, &device);
        if let Some(dtype) = dtype.filter(|d| *d != g.dtype()) {
            g = g.cast(dtype);
        }
        self.grads.register(param.id, g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Initializer, Linear, LinearConfig};
    use rlp_core::device::test_backend;
    use rlp_core::parallel::LocalGroup;

    /// The mean squared error of a 3→2 linear map on rows `rows` of a fixed dataset, and the
    /// gradients of its parameters.
    fn shard_grads(rows: std::ops::Range<usize>) -> (Linear, GradientsParams, f64) {
        let device = test_backend().autodiff_device().unwrap();
        let model = LinearConfig::new(3, 2)
            .with_initializer(Initializer::Constant { value: 0.25 })
            .init(&device);
        let n = rows.len();
        let x: Vec<f32> = rows
            .clone()
            .flat_map(|i| [(i as f32).sin(), (i as f32 * 0.7).cos(), i as f32 / 10.0])
            .collect();
        let y: Vec<f32> = rows.flat_map(|i| [i as f32 / 5.0, -1.0]).collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [n, 3]), &device);
        let y = Tensor::<2>::from_data(TensorData::new(y, [n, 2]), &device);
        let err = model.forward(x) - y;
        let loss = err.clone().mul(err).mean();
        let value = rlp_core::tensor_io::scalar(loss.clone().detach());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (model, grads, value)
    }

    fn flat(model: &Linear, grads: &GradientsParams) -> Vec<f32> {
        let w = grads.get::<2>(model.weight.id).unwrap();
        let b = grads.get::<1>(model.bias.as_ref().unwrap().id).unwrap();
        let mut v = w.into_data().try_to_vec::<f32>().unwrap();
        v.extend(b.into_data().try_to_vec::<f32>().unwrap());
        v
    }

    /// Shards of unequal size (3 and 5 of 8 rows), each a mean over its rows: the averaged
    /// gradient and loss are the full batch's, because each shard is weighted by its rows.
    #[test]
    fn the_reduced_gradient_is_the_full_batch_gradient() {
        let (model, grads, loss) = shard_grads(0..8);
        let want = flat(&model, &grads);
        let group = LocalGroup::new(2);
        let out: Vec<(Vec<f32>, f64)> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .into_iter()
                .zip([0..3, 3..8])
                .map(|(g, rows)| {
                    s.spawn(move || {
                        let w = rows.len() as f64;
                        let (m, grads, l) = shard_grads(rows);
                        let (grads, l) = reduce_with(&g, &m, grads, l, w).unwrap();
                        (flat(&m, &grads), l)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (got, l) in out {
            assert!((l - loss).abs() < 1e-6, "{l} vs {loss}");
            let diff = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-6, "max |Δ| {diff}: {got:?} vs {want:?}");
        }
    }

    #[test]
    fn a_negative_weight_is_refused() {
        let (model, grads, loss) = shard_grads(0..2);
        let e = reduce_with(&rlp_core::parallel::Solo, &model, grads, loss, -1.0)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("weight"), "{e}");
    }
}
