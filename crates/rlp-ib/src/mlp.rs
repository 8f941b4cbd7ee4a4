//! [`Mlp3`]: the three-layer perceptron `d_in → hidden → hidden → d_out` with ReLU between the
//! layers that the Gaussian encoder's `μ` and `σ` nets and the mutual-information critics are
//! built from (three linear layers, as in Federici et al. 2020's MIB code and as RLP states for
//! `μ` and `σ`).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use rlp_core::SeededRng;
use rlp_models::dense::linear;

/// `W₃·relu(W₂·relu(W₁·x + b₁) + b₂) + b₃`.
#[derive(Module, Debug)]
pub struct Mlp3 {
    /// `d_in → hidden`.
    pub input: Linear,
    /// `hidden → hidden`.
    pub hidden: Linear,
    /// `hidden → d_out`.
    pub output: Linear,
}

impl Mlp3 {
    /// Weights drawn from `rng`: He-normal `N(0, 2/fan_in)` for the two layers a ReLU follows,
    /// LeCun-normal `N(0, 1/fan_in)` for the output layer (unit-scale outputs at
    /// initialisation); zero biases.
    pub fn init(
        d_in: usize,
        hidden: usize,
        d_out: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        let layer = |rng: &mut SeededRng, i: usize, o: usize, gain: f64| {
            let mut l = rlp_models::init::linear(rng, i, o, (gain / i as f64).sqrt(), device);
            l.bias = Some(Param::from_tensor(Tensor::zeros([o], device)));
            l
        };
        Self {
            input: layer(rng, d_in, hidden, 2.0),
            hidden: layer(rng, hidden, hidden, 2.0),
            output: layer(rng, hidden, d_out, 1.0),
        }
    }

    /// `[b, d_in] → [b, d_out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = relu(linear(&self.input, x));
        let x = relu(linear(&self.hidden, x));
        linear(&self.output, x)
    }
}
