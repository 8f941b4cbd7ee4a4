//! Adapters in Hugging Face PEFT's directory format, so that Python `peft` loads what rlp trains
//! and rlp loads what `peft` trained:
//! - `adapter_config.json`: `peft_type = "LORA"`, `r`, `lora_alpha`, `target_modules`,
//!   `use_rslora` and PEFT's other fields at the values rlp implements;
//! - `adapter_model.safetensors`: per adapted module `m` of a causal LM,
//!   `base_model.model.{m}.lora_A.weight` of shape `[r, d_in]` and `….lora_B.weight` of shape
//!   `[d_out, r]` (PyTorch's `[out, in]` layout; burn's factors are their transposes).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::checkpoint::{expected_tensors, read_safetensors, write_safetensors};
use crate::error::{ModelError, Result};
use crate::lora::attach::{Factors, adapters, attach};
use crate::lora::config::{LoraConfig, LoraTarget};
use crate::model::CausalLm;

/// The adapter's settings file.
pub const ADAPTER_CONFIG_FILE: &str = "adapter_config.json";
/// The adapter's weights file.
pub const ADAPTER_WEIGHTS_FILE: &str = "adapter_model.safetensors";

/// PEFT's name prefix of the wrapped causal LM's tensors.
const PREFIX: &str = "base_model.model.";

/// PEFT's tensor names of module `layers.{i}.{target}`: `(lora_A, lora_B)`.
fn peft_names(module: &str) -> (String, String) {
    (
        format!("{PREFIX}model.{module}.lora_A.weight"),
        format!("{PREFIX}model.{module}.lora_B.weight"),
    )
}

/// `[rows, cols]` row-major → `[cols, rows]` row-major.
fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = v[r * cols + c];
        }
    }
    t
}

/// Writes `model`'s adapters (attached with `config`) into `dir` as a PEFT adapter directory.
/// `base_model` is recorded as `base_model_name_or_path` (a Hub name such as
/// `HuggingFaceTB/SmolLM2-135M-Instruct`, or a path). Both files are written through temporary
/// names.
pub fn save_adapter(
    model: &CausalLm,
    config: &LoraConfig,
    base_model: Option<&str>,
    dir: impl AsRef<Path>,
) -> Result<()> {
    let dir = dir.as_ref();
    let found = adapters(model);
    if found.is_empty() {
        return Err(ModelError::InvalidInput {
            field: "model".into(),
            message: "carries no LoRA adapter to save".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let mut tensors = Vec::with_capacity(2 * found.len());
    for (module, adapter) in found {
        let (a_name, b_name) = peft_names(&module);
        let [d_in, r] = adapter.a.val().dims();
        let [_, d_out] = adapter.b.val().dims();
        let host = |t: burn::tensor::Tensor<2>| {
            t.into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("f32 data")
        };
        let a = transpose(&host(adapter.a.val()), d_in, r);
        let b = transpose(&host(adapter.b.val()), r, d_out);
        tensors.push((a_name, (vec![r, d_in], a)));
        tensors.push((b_name, (vec![d_out, r], b)));
    }
    write_safetensors(&tensors, &dir.join(ADAPTER_WEIGHTS_FILE))?;
    let text = serde_json::to_string_pretty(&peft_config(config, base_model))
        .expect("adapter config serialises");
    let path = dir.join(ADAPTER_CONFIG_FILE);
    let tmp = dir.join(format!("{ADAPTER_CONFIG_FILE}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| ModelError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| ModelError::io(&path, e))
}

/// PEFT's `LoraConfig` as JSON, every field at the value that means what rlp computes.
fn peft_config(config: &LoraConfig, base_model: Option<&str>) -> Value {
    let targets: Vec<&str> = config.targets.iter().map(|t| t.hf_name()).collect();
    json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "revision": null,
        "inference_mode": true,
        "r": config.rank,
        "lora_alpha": config.alpha,
        "lora_dropout": config.dropout,
        "target_modules": targets,
        "use_rslora": config.rslora,
        "use_dora": false,
        "bias": "none",
        "fan_in_fan_out": false,
        "init_lora_weights": true,
        "modules_to_save": null,
        "layers_to_transform": null,
        "layers_pattern": null,
        "rank_pattern": {},
        "alpha_pattern": {},
    })
}

/// Reads `adapter_config.json` into rlp's settings, refusing what rlp does not implement
/// (DoRA, per-module ranks, biases, layer subsets, …) by field.
pub fn read_adapter_config(dir: impl AsRef<Path>) -> Result<LoraConfig> {
    let path = dir.as_ref().join(ADAPTER_CONFIG_FILE);
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
    let bad = |field: &str, message: String| ModelError::Config {
        origin: origin.clone(),
        field: field.to_string(),
        message,
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| bad("(file)", e.to_string()))?;
    let Some(obj) = v.as_object() else {
        return Err(bad("(file)", "is not a JSON object".into()));
    };
    let field = |name: &str| obj.get(name).unwrap_or(&Value::Null);
    match field("peft_type").as_str() {
        Some("LORA") => {}
        other => {
            return Err(bad(
                "peft_type",
                format!("is {other:?}; only \"LORA\" adapters can be loaded"),
            ));
        }
    }
    let rank = field("r")
        .as_u64()
        .ok_or_else(|| bad("r", "must be a positive integer".into()))? as usize;
    let alpha = field("lora_alpha")
        .as_f64()
        .ok_or_else(|| bad("lora_alpha", "must be a number".into()))?;
    let targets = match field("target_modules") {
        Value::String(s) if s == "all-linear" => LoraTarget::ALL.to_vec(),
        Value::Array(names) => {
            let mut t = Vec::with_capacity(names.len());
            for n in names {
                let name = n
                    .as_str()
                    .ok_or_else(|| bad("target_modules", format!("holds {n}, not a name")))?;
                t.push(LoraTarget::parse(name).map_err(|e| bad("target_modules", e.to_string()))?);
            }
            t.sort();
            t.dedup();
            t
        }
        other => {
            return Err(bad(
                "target_modules",
                format!("is {other}; expected a list of module names or \"all-linear\""),
            ));
        }
    };
    for (name, allowed) in [
        ("use_dora", json!(false)),
        ("fan_in_fan_out", json!(false)),
        ("bias", json!("none")),
    ] {
        let v = field(name);
        if !v.is_null() && *v != allowed {
            return Err(bad(name, format!("is {v}; rlp implements only {allowed}")));
        }
    }
    for name in [
        "layer_replication",
        "layers_to_transform",
        "modules_to_save",
        "rank_pattern",
        "alpha_pattern",
    ] {
        let v = field(name);
        let empty = v.is_null() || v.as_object().is_some_and(|o| o.is_empty());
        if !empty {
            return Err(bad(
                name,
                format!("is {v}; rlp supports only the default (none)"),
            ));
        }
    }
    let config = LoraConfig {
        rank,
        alpha,
        targets,
        rslora: field("use_rslora").as_bool().unwrap_or(false),
        quantize: None,
        dropout: field("lora_dropout").as_f64().unwrap_or(0.0),
    };
    config.validate(&origin)?;
    Ok(config)
}

/// Loads a PEFT adapter directory onto `model` (a plain model of the architecture the adapter
/// was trained on): every base weight frozen, the adapter's factors attached. Returns the
/// adapted model and the adapter's settings. A missing, extra or misshapen tensor is an error
/// naming the file and the tensor.
pub fn load_adapter(model: CausalLm, dir: impl AsRef<Path>) -> Result<(CausalLm, LoraConfig)> {
    let dir = dir.as_ref();
    let config = read_adapter_config(dir)?;
    let path = dir.join(ADAPTER_WEIGHTS_FILE);
    let mut tensors = read_safetensors(&path)?;
    let r = config.rank;
    // The base weights' HF `[out, in]` shapes, by name, as the checkpoint loader knows them.
    let shapes: std::collections::HashMap<String, Vec<usize>> =
        expected_tensors(&model.config).into_iter().collect();
    let mut factors = BTreeMap::new();
    for i in 0..model.layers.len() {
        for &target in &config.targets {
            let module = format!("layers.{i}.{}", target.module_path());
            let shape = &shapes[&format!("model.{module}.weight")];
            let (d_out, d_in) = (shape[0], shape[1]);
            let (a_name, b_name) = peft_names(&module);
            let mut take = |name: &str, shape: [usize; 2]| -> Result<Vec<f32>> {
                let missing = || ModelError::Checkpoint {
                    path: path.clone(),
                    tensor: name.to_string(),
                    message: format!(
                        "missing: the adapter targets {} in every layer",
                        target.hf_name()
                    ),
                };
                let (got, vals) = tensors.remove(name).ok_or_else(missing)?;
                if got != shape {
                    return Err(ModelError::Checkpoint {
                        path: path.clone(),
                        tensor: name.to_string(),
                        message: format!(
                            "has shape {got:?}, expected {shape:?} (rank {r} on a \
                             [{d_out}, {d_in}] weight): an adapter for another model or rank?"
                        ),
                    });
                }
                Ok(vals)
            };
            let a = take(&a_name, [r, d_in])?;
            let b = take(&b_name, [d_out, r])?;
            factors.insert(module, (transpose(&a, r, d_in), transpose(&b, d_out, r)));
        }
    }
    if let Some(name) = tensors.keys().min() {
        return Err(ModelError::Checkpoint {
            path,
            tensor: name.clone(),
            message: format!(
                "is not a LoRA factor of this {}-layer model's targeted modules",
                model.layers.len()
            ),
        });
    }
    let model = attach(model, &config, Factors::Given(factors))?;
    Ok((model, config))
}
