//! [`IbHead`]: the trainable parts of RLP-UML beside the reward model — the Gaussian encoder
//! shared by both views and the mutual-information critic — and `L_M` on a batch of view pairs.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rlp_core::SeededRng;
use rlp_core::tensor_io::scalar;

use crate::dts::{ACTIVE_VARIANCE, active_dims, dts_terms};
use crate::encoder::{Gaussian, GaussianEncoder};
use crate::mi::Critic;
use crate::objective::{DtsWeights, Objective, ViewCode};

/// The sizes of an [`IbHead`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadShape {
    /// Width `d` of the representation `h`.
    pub d: usize,
    /// Width of the code `z`.
    pub z_dim: usize,
    /// Hidden width of the encoder's `μ` and `σ` MLPs.
    pub encoder_hidden: usize,
    /// Hidden width of the critic's MLP.
    pub critic_hidden: usize,
}

/// The batch means of one `L_M` evaluation, read back to the host.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct IbStats {
    /// The mutual-information estimate the objective maximises (the JS objective, in
    /// `[−∞, 0]` with `−log 4` for no information; InfoNCE for `contrastive`).
    pub mi: f64,
    /// The sample estimate of `D_SKL` between the two views' posteriors.
    pub skl: f64,
    /// The total correlation of both views' codes (measured for every objective; `mib-dts`
    /// adds it to the loss, with the two terms below).
    #[serde(default)]
    pub tc: f64,
    /// The dimension-wise KL of both views' codes to the prior.
    #[serde(default)]
    pub dw_kl: f64,
    /// The information `I_q(x; z)` between input and code.
    #[serde(default)]
    pub mi_x: f64,
    /// The code's active dimensions: those whose posterior mean varies across the batch's
    /// inputs (both views) with a variance above [`ACTIVE_VARIANCE`].
    #[serde(default)]
    pub active_dims: usize,
}

/// The encoder `p(z|h)` and the critic of the chosen [`Objective`].
#[derive(Module, Debug)]
pub struct IbHead {
    /// `p(z|h) = N(μ(h), diag σ(h)²)`, one network for both views.
    pub encoder: GaussianEncoder,
    /// `T` on `[z₁; z₂]` (or `[h; z]` for `infomax`).
    pub critic: Critic,
    /// Which loss [`IbHead::loss`] computes.
    #[module(skip)]
    pub objective: Objective,
    /// The DTS weights (`mib-dts` only).
    #[module(skip)]
    pub dts: DtsWeights,
    /// The number of inputs the codes come from (`N` of the DTS estimators; `mib-dts` only):
    /// both views of every view pair.
    #[module(skip)]
    pub data_size: usize,
}

impl IbHead {
    /// A fresh head for `objective`, weights drawn from `rng` (encoder first, then critic).
    pub fn init(
        objective: Objective,
        shape: HeadShape,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        let encoder = GaussianEncoder::init(
            shape.d,
            shape.encoder_hidden,
            shape.z_dim,
            &mut rng.fork("encoder"),
            device,
        );
        let (da, db) = objective.critic_inputs(shape.d, shape.z_dim);
        let critic = Critic::init(da, db, shape.critic_hidden, &mut rng.fork("critic"), device);
        Self {
            encoder,
            critic,
            objective,
            dts: DtsWeights::default(),
            data_size: 0,
        }
    }

    /// The head with DTS weights `dts` and `data_size` inputs for `objective = "mib-dts"`
    /// (`dts.validate(z_dim)` must have passed).
    pub fn with_dts(mut self, dts: DtsWeights, data_size: usize) -> Self {
        self.dts = dts;
        self.data_size = data_size;
        self
    }

    /// `L_M` on the representations `h1`, `h2` `[B, d]` of `B ≥ 2` view pairs (row `i` of each
    /// is one prompt's two responses), SKL weight `beta`, the reparameterisation noise drawn
    /// from `rng` (view 1's, then view 2's). Returns the one-element loss and its parts' values.
    pub fn loss(
        &self,
        h1: Tensor<2>,
        h2: Tensor<2>,
        beta: f64,
        rng: &mut SeededRng,
    ) -> (Tensor<1>, IbStats) {
        let code = |h: Tensor<2>, rng: &mut SeededRng| {
            let (posterior, z) = self.encoder.sample(h.clone(), rng);
            ViewCode { h, posterior, z }
        };
        let v1 = code(h1, rng);
        let v2 = code(h2, rng);
        let terms = self.objective.loss(&self.critic, &v1, &v2, beta);
        let mut stats = IbStats {
            mi: scalar(terms.mi.detach()),
            skl: scalar(terms.skl.detach()),
            ..Default::default()
        };
        let mut loss = terms.loss;
        let both = Gaussian {
            mean: Tensor::cat(vec![v1.posterior.mean, v2.posterior.mean], 0),
            std: Tensor::cat(vec![v1.posterior.std, v2.posterior.std], 0),
        };
        let z = Tensor::cat(vec![v1.z, v2.z], 0);
        let m = z.dims()[0];
        stats.active_dims = active_dims(&both.mean, ACTIVE_VARIANCE);
        // The decomposition's terms are measured for every objective; only `mib-dts` trains on
        // them (the others measure them on detached codes, outside the graph).
        let trains = self.objective == Objective::MibDts;
        let (both, z) = if trains {
            (both, z)
        } else {
            let detached = Gaussian {
                mean: both.mean.detach(),
                std: both.std.detach(),
            };
            (detached, z.detach())
        };
        let dts = dts_terms(&both, z, self.data_size.max(m), self.dts.segment)
            .expect("the segment is validated against z_dim and N is at least the batch");
        stats.tc = scalar(dts.tc.clone().detach());
        stats.dw_kl = scalar(dts.dw_kl.clone().detach());
        stats.mi_x = scalar(dts.mi.clone().detach());
        if trains {
            loss = loss + dts.tc * self.dts.beta_tc + dts.dw_kl * self.dts.beta_dw
                - dts.mi * self.dts.gamma_mi;
        }
        (loss, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::Gaussian;
    use crate::mlp::Mlp3;
    use burn::module::Param;
    use burn::nn::Linear;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::floats;

    fn dense(w: Vec<f32>, shape: [usize; 2], d: &Device) -> Linear {
        Linear {
            weight: Param::from_tensor(floats(w, shape, d)),
            bias: None,
        }
    }

    /// A critic computing `T(a, b) = relu(relu(a + b)) = a + b` for one-dimensional `a`, `b`
    /// with `a + b ≥ 0` (every input below).
    fn sum_critic(d: &Device) -> Critic {
        Critic {
            net: Mlp3 {
                input: dense(vec![1.0, 1.0], [2, 1], d),
                hidden: dense(vec![1.0], [1, 1], d),
                output: dense(vec![1.0], [1, 1], d),
            },
        }
    }

    fn t(v: Vec<f32>, d: &Device) -> Tensor<2> {
        let n = v.len();
        floats(v, [n, 1], d)
    }

    /// Golden `L_M` for fixed codes, one dimension, B = 2, `T(a, b) = a + b`, `sp = softplus`:
    /// - posteriors p₁ = (N(0,1), N(1,1)), p₂ = (N(1,1), N(1,2²)); samples z₁ = (1, 2),
    ///   z₂ = (0, 3); with `ℓ(z; μ, σ) = −½((z−μ)/σ)² − log σ` (the `log 2π` terms cancel):
    ///   row 0: [ℓ(1;0,1) − ℓ(1;1,1)] + [ℓ(0;1,1) − ℓ(0;0,1)] = −½ − ½ = −1;
    ///   row 1: [ℓ(2;1,1) − ℓ(2;1,2)] + [ℓ(3;1,2) − ℓ(3;1,1)]
    ///        = [−½ + ⅛ + log 2] + [−½ − log 2 + 2] = 1.125;
    ///   D_SKL = ½·mean(−1, 1.125) = 0.03125.
    /// - JS: T_pos = z₁ + z₂ = (1, 5); rolled z₁ = (2, 1), T_neg = (2, 4):
    ///   I_JS = −(sp(−1) + sp(−5))/2 − (sp(2) + sp(4))/2
    ///        = −(0.313262 + 0.006715)/2 − (2.126928 + 4.018150)/2 = −3.232527.
    /// - InfoNCE: S = [[1, 4], [2, 5]], logsumexp rows = 4 + log(1 + e⁻³) = 4.048587 and
    ///   5.048587: I_NCE = log 2 + ((1 − 4.048587) + (5 − 5.048587))/2 = −0.855440.
    /// - InfoMax with h₁ = (1, 0), h₂ = (2, 0) (critic on [h; z], h rolled):
    ///   view 1: T_pos = (2, 2), T_neg = (0 + 1, 1 + 2) = (1, 3):
    ///   −sp(−2) − (sp(1) + sp(3))/2 = −0.126928 − 2.180925 = −2.307853;
    ///   view 2: T_pos = (2, 3), T_neg = (0 + 0, 2 + 3) = (0, 5):
    ///   −(sp(−2) + sp(−3))/2 − (sp(0) + sp(5))/2 = −0.087758 − 2.849931 = −2.937689;
    ///   I = mean = −2.622771.
    ///
    /// So with β = 0.5: MIB 3.232527 + 0.5·0.03125 = 3.248152, MVI 3.232527, contrastive
    /// 0.855440, InfoMax 2.622771; β does not enter the last three.
    #[test]
    fn loss_composition_golden() {
        let d = test_backend().device().unwrap();
        let v1 = ViewCode {
            h: t(vec![1.0, 0.0], &d),
            posterior: Gaussian {
                mean: t(vec![0.0, 1.0], &d),
                std: t(vec![1.0, 1.0], &d),
            },
            z: t(vec![1.0, 2.0], &d),
        };
        let v2 = ViewCode {
            h: t(vec![2.0, 0.0], &d),
            posterior: Gaussian {
                mean: t(vec![1.0, 1.0], &d),
                std: t(vec![1.0, 2.0], &d),
            },
            z: t(vec![0.0, 3.0], &d),
        };
        let critic = sum_critic(&d);
        for (objective, mi, loss) in [
            (Objective::Mib, -3.232527, 3.248152),
            (Objective::Mvi, -3.232527, 3.232527),
            (Objective::Contrastive, -0.855440, 0.855440),
            (Objective::Infomax, -2.622771, 2.622771),
        ] {
            let terms = objective.loss(&critic, &v1, &v2, 0.5);
            let got = (scalar(terms.loss), scalar(terms.mi), scalar(terms.skl));
            assert!((got.0 - loss).abs() < 1e-5, "{objective:?}: {got:?}");
            assert!((got.1 - mi).abs() < 1e-5, "{objective:?}: {got:?}");
            assert!((got.2 - 0.03125).abs() < 1e-6, "{objective:?}: {got:?}");
        }
    }

    #[test]
    fn head_loss_is_seeded_and_finite() {
        let d = test_backend().device().unwrap();
        let shape = HeadShape {
            d: 8,
            z_dim: 4,
            encoder_hidden: 16,
            critic_hidden: 16,
        };
        let h1 = floats((0..32).map(|i| (i as f32).sin()).collect(), [4, 8], &d);
        let h2 = floats((0..32).map(|i| (i as f32).cos()).collect(), [4, 8], &d);
        for objective in [
            Objective::Mib,
            Objective::Infomax,
            Objective::Mvi,
            Objective::Contrastive,
        ] {
            let run = || {
                let head = IbHead::init(objective, shape, &mut SeededRng::new(3), &d);
                let (l, s) = head.loss(h1.clone(), h2.clone(), 0.1, &mut SeededRng::new(5));
                (scalar(l), s)
            };
            let (a, b) = (run(), run());
            assert_eq!(a, b);
            assert!(a.0.is_finite() && a.1.mi.is_finite() && a.1.skl.is_finite());
        }
    }

    /// `mib-dts` is `mib` on the same codes (same weights, same noise) plus
    /// `β_tc·TC + β_dw·Σ KL_k − γ_mi·I_q(x; z)`; both report the same values of the three terms
    /// (and of the active dimensions), which `mib` only measures.
    #[test]
    fn mib_dts_adds_the_weighted_terms_to_mib() {
        let d = test_backend().device().unwrap();
        let shape = HeadShape {
            d: 8,
            z_dim: 4,
            encoder_hidden: 16,
            critic_hidden: 16,
        };
        let h1 = floats((0..32).map(|i| (i as f32).sin()).collect(), [4, 8], &d);
        let h2 = floats((0..32).map(|i| (i as f32).cos()).collect(), [4, 8], &d);
        let weights = DtsWeights {
            beta_tc: 2.0,
            beta_dw: 0.5,
            gamma_mi: 3.0,
            segment: 2,
        };
        let run = |objective| {
            let head =
                IbHead::init(objective, shape, &mut SeededRng::new(3), &d).with_dts(weights, 100);
            let (l, s) = head.loss(h1.clone(), h2.clone(), 0.1, &mut SeededRng::new(5));
            (scalar(l), s)
        };
        let (mib, plain) = run(Objective::Mib);
        let (dts, stats) = run(Objective::MibDts);
        let (tc, dw, mi_x) = (stats.tc, stats.dw_kl, stats.mi_x);
        assert!(tc.is_finite() && dw.is_finite() && mi_x.is_finite());
        assert_eq!((plain.tc, plain.dw_kl, plain.mi_x), (tc, dw, mi_x));
        assert_eq!(plain.active_dims, stats.active_dims);
        assert!(stats.active_dims <= 4);
        assert_eq!((stats.mi, stats.skl), (plain.mi, plain.skl));
        let want = mib + 2.0 * tc + 0.5 * dw - 3.0 * mi_x;
        assert!((dts - want).abs() < 1e-4, "{dts} vs {want}");
    }
}
