//! Attaching LoRA adapters to a [`CausalLm`] with burn's reparameterisation
//! ([`Module::apply_reparameterization`]), the mechanism behind burn's own `apply_lora`: each
//! targeted weight keeps its frozen base `W` and carries a [`LoraAdapter`] `(A, B, α/r)`, so that
//! `Param::val()` is `W + (α/r)·A·B`; every other parameter is frozen. burn's [`burn::module::Lora`]
//! draws `A` on the device; this one draws it from a [`SeededRng`] on the host, so a seed fixes
//! the adapter on every backend, or takes `A` and `B` from a saved adapter.

use std::collections::BTreeMap;

use burn::module::{LoraAdapter, Module, Param, Reparameterizer};
use burn::tensor::{Device, Tensor, TensorData};
use rlp_core::SeededRng;

use crate::error::{ModelError, Result};
use crate::lora::config::{LoraConfig, LoraTarget};
use crate::model::CausalLm;

/// Where the factors of the attached adapters come from.
pub(crate) enum Factors<'a> {
    /// PEFT's initialisation: `A ~ U(−1/√d_in, 1/√d_in)` (`kaiming_uniform_` with `a = √5`),
    /// `B = 0`.
    Fresh(&'a mut SeededRng),
    /// Given factors in burn's layout, `A: [d_in, r]` and `B: [r, d_out]`, by the weight's
    /// module path (`layers.3.self_attn.q_proj`).
    Given(BTreeMap<String, (Vec<f32>, Vec<f32>)>),
}

/// The module path of a targeted weight inside a decoder layer, `layers.{i}.{module}`, if
/// `path` (burn's parameter path, `layers.{i}.{module}.weight`) is one.
fn adapted_module(path: &str, targets: &[LoraTarget]) -> Option<String> {
    let module = path.strip_suffix(".weight")?;
    let rest = module.strip_prefix("layers.")?;
    let (layer, inner) = rest.split_once('.')?;
    layer.parse::<usize>().ok()?;
    targets
        .iter()
        .any(|t| t.module_path() == inner)
        .then(|| module.to_string())
}

/// What an attachment pass found: the modules that got adapters, and the first error.
#[derive(Default)]
struct Report {
    attached: Vec<String>,
    error: Option<ModelError>,
}

struct Attach<'a, 'r> {
    config: &'a LoraConfig,
    factors: &'a mut Factors<'r>,
    device: Device,
    report: &'a mut Report,
}

impl Reparameterizer for Attach<'_, '_> {
    type Reparam = LoraAdapter;

    fn reparameterize<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<LoraAdapter>) {
        let base = param.set_require_grad(false);
        let Some(module) = (D == 2)
            .then(|| adapted_module(path, &self.config.targets))
            .flatten()
        else {
            return (base, None);
        };
        let dims = base.base().dims();
        let (d_in, d_out, r) = (dims[0], dims[1], self.config.rank);
        // QLoRA: the frozen base is kept quantized; the adapter meets it dequantized.
        let base = match self.config.quantize {
            Some(q) => {
                let scheme = q.scheme(d_out);
                base.map(|t| t.quantize_dynamic(&scheme))
            }
            None => base,
        };
        let (a, b) = match &mut *self.factors {
            Factors::Fresh(rng) => {
                let bound = 1.0 / (d_in as f64).sqrt();
                let a: Vec<f32> = (0..d_in * r)
                    .map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32)
                    .collect();
                (a, vec![0.0; r * d_out])
            }
            Factors::Given(map) => match map.remove(&module) {
                Some(ab) => ab,
                None => {
                    self.report.error.get_or_insert(ModelError::InvalidInput {
                        field: "adapter".into(),
                        message: format!("has no factors for `{module}`"),
                    });
                    return (base, None);
                }
            },
        };
        if a.len() != d_in * r || b.len() != r * d_out {
            self.report.error.get_or_insert(ModelError::InvalidInput {
                field: "adapter".into(),
                message: format!(
                    "`{module}`: factors of {} and {} values do not fit a [{d_in}, {d_out}] weight \
                     at rank {r}",
                    a.len(),
                    b.len()
                ),
            });
            return (base, None);
        }
        let factor = |v: Vec<f32>, shape: [usize; 2]| {
            Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(v, shape),
                &self.device,
            ))
        };
        self.report.attached.push(module);
        let adapter = LoraAdapter {
            a: factor(a, [d_in, r]),
            b: factor(b, [r, d_out]),
            scale: self.config.scale(),
        };
        (base, Some(adapter))
    }
}

/// Attaches adapters to `model`, checking that every targeted weight got one.
pub(crate) fn attach(
    model: CausalLm,
    config: &LoraConfig,
    mut factors: Factors<'_>,
) -> Result<CausalLm> {
    config.validate("lora")?;
    if is_adapted(&model) {
        return Err(ModelError::InvalidInput {
            field: "model".into(),
            message: "already carries LoRA adapters (merge them first)".into(),
        });
    }
    let device = model.device();
    let mut report = Report::default();
    let model = model.apply_reparameterization(Attach {
        config,
        factors: &mut factors,
        device,
        report: &mut report,
    });
    if let Some(e) = report.error {
        return Err(e);
    }
    if let Factors::Given(left) = &factors
        && let Some(name) = left.keys().next()
    {
        return Err(ModelError::InvalidInput {
            field: "adapter".into(),
            message: format!(
                "has factors for `{name}`, which is not a targeted module of this model"
            ),
        });
    }
    let mut model = model;
    if config.dropout > 0.0 {
        let dropout = burn::nn::DropoutConfig::new(config.dropout).init();
        for layer in &mut model.layers {
            layer.self_attn.lora_dropout = Some(dropout.clone());
            layer.mlp.lora_dropout = Some(dropout.clone());
        }
    }
    let expected = model.layers.len() * config.targets.len();
    if report.attached.len() != expected {
        return Err(ModelError::InvalidInput {
            field: "lora.targets".into(),
            message: format!(
                "attached {} adapters where the model has {expected} targeted weights",
                report.attached.len()
            ),
        });
    }
    Ok(model)
}

/// Freezes every parameter of `model` and attaches fresh LoRA adapters (PEFT's initialisation
/// of `A`, drawn from `rng`; `B = 0`) to the weights `config` targets. The adapted model computes
/// exactly what `model` computed until `B` trains; only the adapters receive gradients.
pub fn apply_lora(model: CausalLm, config: &LoraConfig, rng: &mut SeededRng) -> Result<CausalLm> {
    attach(model, config, Factors::Fresh(rng))
}

/// Whether any weight of `model` carries an adapter.
pub fn is_adapted(model: &CausalLm) -> bool {
    !adapters(model).is_empty()
}

/// The adapters of `model` by module path (`layers.3.self_attn.q_proj`), in layer order.
pub fn adapters(model: &CausalLm) -> Vec<(String, &LoraAdapter)> {
    let mut out = Vec::new();
    for (i, layer) in model.layers.iter().enumerate() {
        let a = &layer.self_attn;
        let m = &layer.mlp;
        let linears = [
            (LoraTarget::Q, &a.q_proj),
            (LoraTarget::K, &a.k_proj),
            (LoraTarget::V, &a.v_proj),
            (LoraTarget::O, &a.o_proj),
            (LoraTarget::Gate, &m.gate_proj),
            (LoraTarget::Up, &m.up_proj),
            (LoraTarget::Down, &m.down_proj),
        ];
        for (target, linear) in linears {
            if let Some(adapter) = linear.weight.adapter() {
                out.push((format!("layers.{i}.{}", target.module_path()), adapter));
            }
        }
    }
    out
}

/// Folds every adapter into its weight (`W ← W + (α/r)·A·B`) and removes it: a plain model,
/// with all parameters trainable again, that computes what the adapted one computed.
pub fn merge(model: CausalLm) -> CausalLm {
    let mut model = model.materialize().set_require_grad(true);
    for layer in &mut model.layers {
        layer.self_attn.lora_dropout = None;
        layer.mlp.lora_dropout = None;
    }
    model
}
