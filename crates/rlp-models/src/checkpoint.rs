//! Checkpoints as Hugging Face writes them: `model.safetensors` with HF tensor names
//! (`model.layers.N.self_attn.q_proj.weight`, …, `[out, in]` layout) and `config.json` with
//! `LlamaConfig` field names. Loading accepts F32, F16 and BF16 tensors; saving writes F32, so a
//! save/load round trip is exact. Files are written to a temporary name and renamed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::tensor::{Dtype, SafeTensorError, TensorView};

use crate::attention::Attention;
use crate::config::LlamaConfig;
use crate::decoder_layer::DecoderLayer;
use crate::error::{ModelError, Result};
use crate::init;
use crate::mlp::SwiGluMlp;
use crate::model::CausalLm;

/// File name of the weights inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the config inside a checkpoint directory.
pub const CONFIG_FILE: &str = "config.json";

/// How a named tensor maps onto the model.
enum Slot<'a> {
    /// A linear weight: HF `[out, in]` ↔ burn `[in, out]`.
    Linear(&'a Linear),
    /// Stored as is (embeddings `[vocab, d]`, norm gains `[d]`).
    Plain2(&'a Param<Tensor<2>>),
    Plain1(&'a Param<Tensor<1>>),
}

/// The HF names of layer `i`'s tensors, in the order [`expected_tensors`] lists them:
/// input norm, q, k, v, o, post-attention norm, gate, up, down.
fn layer_names(i: usize) -> [String; 9] {
    [
        "input_layernorm",
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "post_attention_layernorm",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
    ]
    .map(|part| format!("model.layers.{i}.{part}.weight"))
}

/// Every tensor a model with `config` has, with its HF name and `[out, in]` shape, in a fixed
/// order: embeddings, then per layer `layer_names`, then the final norm and (untied) head.
pub fn expected_tensors(config: &LlamaConfig) -> Vec<(String, Vec<usize>)> {
    let (d, ffn, v) = (
        config.hidden_size,
        config.intermediate_size,
        config.vocab_size,
    );
    let (q, kv) = (
        config.num_attention_heads * config.head_dim(),
        config.kv_heads() * config.head_dim(),
    );
    let mut out = vec![("model.embed_tokens.weight".to_string(), vec![v, d])];
    for i in 0..config.num_hidden_layers {
        let shapes = [
            vec![d],
            vec![q, d],
            vec![kv, d],
            vec![kv, d],
            vec![d, q],
            vec![d],
            vec![ffn, d],
            vec![ffn, d],
            vec![d, ffn],
        ];
        out.extend(layer_names(i).into_iter().zip(shapes));
    }
    out.push(("model.norm.weight".into(), vec![d]));
    if !config.tie_word_embeddings {
        out.push(("lm_head.weight".into(), vec![v, d]));
    }
    out
}

fn slots(model: &CausalLm) -> Vec<(String, Slot<'_>)> {
    let mut params = vec![Slot::Plain2(&model.embed_tokens.weight)];
    for l in &model.layers {
        params.extend([
            Slot::Plain1(&l.input_layernorm.gamma),
            Slot::Linear(&l.self_attn.q_proj),
            Slot::Linear(&l.self_attn.k_proj),
            Slot::Linear(&l.self_attn.v_proj),
            Slot::Linear(&l.self_attn.o_proj),
            Slot::Plain1(&l.post_attention_layernorm.gamma),
            Slot::Linear(&l.mlp.gate_proj),
            Slot::Linear(&l.mlp.up_proj),
            Slot::Linear(&l.mlp.down_proj),
        ]);
    }
    params.push(Slot::Plain1(&model.norm.gamma));
    if let Some(head) = &model.lm_head {
        params.push(Slot::Linear(head));
    }
    let mut config = model.config.clone();
    config.tie_word_embeddings = model.lm_head.is_none();
    expected_tensors(&config)
        .into_iter()
        .map(|(name, _)| name)
        .zip(params)
        .collect()
}

/// Host copy of a tensor in HF layout: `(shape, values)`.
fn host_tensor(slot: &Slot<'_>) -> (Vec<usize>, Vec<f32>) {
    let data = match slot {
        Slot::Linear(l) => l.weight.val().transpose().into_data(),
        Slot::Plain2(p) => p.val().into_data(),
        Slot::Plain1(p) => p.val().into_data(),
    };
    let shape = data.shape().as_slice().to_vec();
    let vals = data.convert::<f32>().try_into_vec::<f32>().expect("f32");
    (shape, vals)
}

/// Writes `model.safetensors` with HF names (F32) into `dir`, atomically.
pub fn save_weights(model: &CausalLm, dir: impl AsRef<Path>) -> Result<()> {
    save_weights_as(model, dir, StoreDtype::F32)
}

/// [`save_weights`] storing the weights as `dtype` (F16/BF16 halve the file; loading converts
/// back to f32, so a round trip is exact only for F32).
pub fn save_weights_as(model: &CausalLm, dir: impl AsRef<Path>, dtype: StoreDtype) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    write_safetensors_as(&host_tensors(model), &dir.join(WEIGHTS_FILE), dtype)
}

/// Every weight of `model` as an HF-named host tensor `(name, (shape, values))` in HF layout,
/// in [`expected_tensors`] order: what [`save_weights`] writes, for callers that add tensors of
/// their own (a reward model's head) before [`write_safetensors`].
pub fn host_tensors(model: &CausalLm) -> Vec<(String, (Vec<usize>, Vec<f32>))> {
    slots(model)
        .into_iter()
        .map(|(name, slot)| (name, host_tensor(&slot)))
        .collect()
}

/// The floating-point type weights are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreDtype {
    /// 32-bit floats: exact round trips.
    #[default]
    F32,
    /// IEEE half precision (round to nearest even): half the size, ~3 significant digits.
    F16,
    /// bfloat16 (round to nearest even): half the size, f32's range, ~2 significant digits.
    Bf16,
}

impl StoreDtype {
    /// The name `config.json` gives it (`torch_dtype`): `float32`, `float16`, `bfloat16`.
    pub fn torch_name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }

    fn dtype(self) -> Dtype {
        match self {
            Self::F32 => Dtype::F32,
            Self::F16 => Dtype::F16,
            Self::Bf16 => Dtype::BF16,
        }
    }

    fn encode(self, vals: &[f32]) -> Vec<u8> {
        match self {
            Self::F32 => vals.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Self::F16 => vals
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect(),
            Self::Bf16 => vals
                .iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                .collect(),
        }
    }
}

/// Writes named F32 host tensors `(name, (shape, values))` as a safetensors file, through a
/// temporary name and a rename.
pub fn write_safetensors(tensors: &[(String, (Vec<usize>, Vec<f32>))], path: &Path) -> Result<()> {
    write_safetensors_as(tensors, path, StoreDtype::F32)
}

/// [`write_safetensors`], storing every tensor as `dtype` ([`read_safetensors`] reads all three
/// back as f32).
pub fn write_safetensors_as(
    tensors: &[(String, (Vec<usize>, Vec<f32>))],
    path: &Path,
    dtype: StoreDtype,
) -> Result<()> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, (_, vals))| dtype.encode(vals))
        .collect();
    let mut views = Vec::with_capacity(tensors.len());
    for ((name, (shape, _)), b) in tensors.iter().zip(&bytes) {
        let view = TensorView::new(dtype.dtype(), shape.clone(), b).map_err(|e| {
            ModelError::Checkpoint {
                path: path.to_path_buf(),
                tensor: name.clone(),
                message: e.to_string(),
            }
        })?;
        views.push((name.clone(), view));
    }
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    let tmp = path.with_extension("safetensors.tmp");
    safetensors::serialize_to_file(views, Some(meta), &tmp).map_err(|e| {
        ModelError::Checkpoint {
            path: tmp.clone(),
            tensor: "(file)".into(),
            message: e.to_string(),
        }
    })?;
    std::fs::rename(&tmp, path).map_err(|e| ModelError::io(path, e))
}

/// Saves `config.json` and `model.safetensors` into `dir`.
pub fn save(model: &CausalLm, dir: impl AsRef<Path>) -> Result<()> {
    save_as(model, dir, StoreDtype::F32)
}

/// [`save`] with the weights stored as `dtype`, which `config.json`'s `torch_dtype` names.
pub fn save_as(model: &CausalLm, dir: impl AsRef<Path>, dtype: StoreDtype) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    let mut config = model.config.clone();
    config.torch_dtype = dtype.torch_name().to_string();
    config.save(&tmp)?;
    std::fs::rename(&tmp, dir.join(CONFIG_FILE))
        .map_err(|e| ModelError::io(dir.join(CONFIG_FILE), e))?;
    save_weights_as(model, dir, dtype)
}

/// Reads every tensor of a safetensors file as f32 host data: name → (shape, values).
pub fn read_safetensors(path: &Path) -> Result<HashMap<String, (Vec<usize>, Vec<f32>)>> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
        let (tensor, message) =
            locate_bad_tensor(&bytes).unwrap_or_else(|| describe_safetensors_error(e, bytes.len()));
        ModelError::Checkpoint {
            path: path.to_path_buf(),
            tensor,
            message,
        }
    })?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let vals = view_f32(&view).map_err(|message| ModelError::Checkpoint {
            path: path.to_path_buf(),
            tensor: name.clone(),
            message,
        })?;
        // Weights that hold NaN or Inf (a diverged run saved anyway) would turn every output
        // into garbage without a word: refuse them, naming the tensor.
        let bad = vals.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(ModelError::Checkpoint {
                path: path.to_path_buf(),
                tensor: name,
                message: format!(
                    "{bad} of its {} values are NaN or infinite (a diverged run?)",
                    vals.len()
                ),
            });
        }
        out.insert(name, (view.shape().to_vec(), vals));
    }
    Ok(out)
}

/// The first tensor whose header entry disagrees with the file — `data_offsets` reversed, past
/// the data section, or not `numel × dtype size` bytes long — with what is wrong (`None` when
/// the header does not parse as JSON or every entry is consistent). The safetensors crate's
/// own error does not always name the tensor.
fn locate_bad_tensor(bytes: &[u8]) -> Option<(String, String)> {
    let n = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes.get(8..8usize.checked_add(n)?)?).ok()?;
    let data_len = (bytes.len() - 8 - n) as u128;
    for (name, entry) in header.iter().filter(|(k, _)| *k != "__metadata__") {
        let offsets: Vec<u128> = entry["data_offsets"]
            .as_array()?
            .iter()
            .map(|v| v.as_u64().map(u128::from))
            .collect::<Option<_>>()?;
        let numel = entry["shape"]
            .as_array()?
            .iter()
            .try_fold(1u128, |acc, d| {
                Some(acc.saturating_mul(d.as_u64()? as u128))
            })?;
        let size = match entry["dtype"].as_str()? {
            "F64" | "I64" | "U64" => 8,
            "F32" | "I32" | "U32" => 4,
            "F16" | "BF16" | "I16" | "U16" => 2,
            _ => 1,
        };
        let bad = match offsets[..] {
            [start, end] if end < start => format!("data_offsets [{start}, {end}] run backwards"),
            [_, end] if end > data_len => {
                format!(
                    "data_offsets end at byte {end} of a {data_len}-byte data section (truncated or corrupt?)"
                )
            }
            [start, end] if end - start != numel.saturating_mul(size) => format!(
                "data_offsets span {} bytes but its shape and dtype need {}",
                end - start,
                numel.saturating_mul(size)
            ),
            [_, _] => continue,
            _ => "data_offsets is not a pair".to_string(),
        };
        return Some((name.clone(), bad));
    }
    None
}

/// A safetensors parse error as (the tensor it concerns, or `(header)`; what is wrong in words
/// a user can act on), for a file of `len` bytes.
fn describe_safetensors_error(e: SafeTensorError, len: usize) -> (String, String) {
    use SafeTensorError as E;
    let header = |m: String| ("(header)".to_string(), m);
    match e {
        E::InvalidOffset(name) => (
            name,
            format!(
                "its data_offsets lie outside the data section of this {len}-byte file, or overlap another tensor's (corrupt or truncated?)"
            ),
        ),
        E::MetadataIncompleteBuffer => header(format!(
            "the tensors' data_offsets do not cover the data section of this {len}-byte file exactly (truncated, or bytes appended?)"
        )),
        E::HeaderTooSmall | E::InvalidHeaderLength => header(format!(
            "the 8-byte header length is missing or points past the end of this {len}-byte file (truncated, or not a safetensors file?)"
        )),
        E::HeaderTooLarge => {
            header("the header is larger than 100 MB (not a safetensors file?)".into())
        }
        E::ValidationOverflow => {
            header("a tensor's shape times its dtype size overflows (corrupt header)".into())
        }
        other => header(other.to_string()),
    }
}

/// The values of one safetensors tensor as f32 (little-endian F32, F16 or BF16); any other
/// dtype is an error message naming it.
pub fn view_f32(view: &TensorView<'_>) -> std::result::Result<Vec<f32>, String> {
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => return Err(format!("unsupported dtype {other:?} (F32, F16, BF16 are)")),
    })
}

/// A linear weight in HF's row-major `[out, in]` layout as burn's `[in, out]` tensor, transposed
/// on the host so the weight is contiguous (a transposed view would take other matmul kernels:
/// slower, and not bit-identical to a freshly initialised model's).
pub fn linear_weight(hf: &[f32], d_in: usize, d_out: usize, device: &Device) -> Tensor<2> {
    let mut t = vec![0.0f32; hf.len()];
    for (o, row) in hf.chunks_exact(d_in).enumerate() {
        for (i, &x) in row.iter().enumerate() {
            t[i * d_out + o] = x;
        }
    }
    Tensor::from_data(TensorData::new(t, [d_in, d_out]), device)
}

/// File name of the shard index of a sharded HF checkpoint.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// Reads a directory's weights: `model.safetensors`, or every shard that
/// `model.safetensors.index.json` lists. Returns the tensors and the file to name in errors.
pub fn read_dir_weights(dir: &Path) -> Result<(HashMap<String, (Vec<usize>, Vec<f32>)>, PathBuf)> {
    let single = dir.join(WEIGHTS_FILE);
    let index = dir.join(INDEX_FILE);
    if single.exists() || !index.exists() {
        return Ok((read_safetensors(&single)?, single));
    }
    let text = std::fs::read_to_string(&index).map_err(|e| ModelError::io(&index, e))?;
    let bad = |message: String| ModelError::Checkpoint {
        path: index.clone(),
        tensor: "weight_map".into(),
        message,
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("missing or not an object".into()))?;
    let mut files: Vec<&str> = map.values().filter_map(|v| v.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let mut all = HashMap::new();
    for f in files {
        if f.contains('/') || f.contains("..") {
            return Err(bad(format!("shard name {f:?} leaves the directory")));
        }
        all.extend(read_safetensors(&dir.join(f))?);
    }
    Ok((all, index))
}

/// Loads a checkpoint directory (`config.json` + `model.safetensors`, or a sharded HF
/// checkpoint) onto `device`.
pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<CausalLm> {
    load_layers(dir, None, device)
}

/// Like [`load`], keeping only the first `layers` decoder layers when given (the final norm and
/// head stay): a truncated model for fast parity checks.
pub fn load_layers(
    dir: impl AsRef<Path>,
    layers: Option<usize>,
    device: &Device,
) -> Result<CausalLm> {
    let dir = dir.as_ref();
    let mut config = LlamaConfig::load(dir.join(CONFIG_FILE))?;
    if let Some(n) = layers {
        if n == 0 || n > config.num_hidden_layers {
            return Err(ModelError::input(
                "layers",
                format!("{n} is not in 1..={}", config.num_hidden_layers),
            ));
        }
        config.num_hidden_layers = n;
    }
    let (tensors, origin) = read_dir_weights(dir)?;
    from_tensors(&config, tensors, &origin, device)
}

/// Takes named host tensors off a map, checking presence and shape (HF layout).
struct Loader<'a> {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    origin: &'a Path,
    device: &'a Device,
}

impl Loader<'_> {
    fn take(&mut self, name: &str, want: &[usize]) -> Result<Vec<f32>> {
        let (shape, vals) = self
            .tensors
            .remove(name)
            .ok_or_else(|| ModelError::Checkpoint {
                path: self.origin.to_path_buf(),
                tensor: name.to_string(),
                message: "missing".into(),
            })?;
        if shape != want {
            return Err(ModelError::Checkpoint {
                path: self.origin.to_path_buf(),
                tensor: name.to_string(),
                message: format!("shape {shape:?}, expected {want:?}"),
            });
        }
        Ok(vals)
    }

    /// HF `[out, in]` → burn `[in, out]` (see [`linear_weight`]).
    fn linear(&mut self, name: &str, d_in: usize, d_out: usize) -> Result<Linear> {
        let v = self.take(name, &[d_out, d_in])?;
        Ok(init::linear_from(linear_weight(
            &v,
            d_in,
            d_out,
            self.device,
        )))
    }

    fn norm(&mut self, name: &str, d: usize, eps: f64) -> Result<RmsNorm> {
        let v = self.take(name, &[d])?;
        Ok(init::rms_norm(
            Tensor::from_data(TensorData::new(v, [d]), self.device),
            eps,
        ))
    }
}

/// Builds a model from HF-named host tensors, checking every name and shape. `origin` names the
/// file in errors. Tied models ignore a stray `lm_head.weight`.
pub fn from_tensors(
    config: &LlamaConfig,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    origin: &Path,
    device: &Device,
) -> Result<CausalLm> {
    config.validate(&origin.display().to_string())?;
    let mut ld = Loader {
        tensors,
        origin,
        device,
    };
    let (d, ffn, eps) = (
        config.hidden_size,
        config.intermediate_size,
        config.rms_norm_eps,
    );
    let (h, kvh, hd) = (
        config.num_attention_heads,
        config.kv_heads(),
        config.head_dim(),
    );
    let embed = ld.take("model.embed_tokens.weight", &[config.vocab_size, d])?;
    let embed_tokens = Embedding {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(embed, [config.vocab_size, d]),
            device,
        )),
    };
    let mut layers = Vec::with_capacity(config.num_hidden_layers);
    for i in 0..config.num_hidden_layers {
        let [in_norm, q, k, v, o, post_norm, gate, up, down] = layer_names(i);
        layers.push(DecoderLayer {
            input_layernorm: ld.norm(&in_norm, d, eps)?,
            self_attn: Attention {
                q_proj: ld.linear(&q, d, h * hd)?,
                k_proj: ld.linear(&k, d, kvh * hd)?,
                v_proj: ld.linear(&v, d, kvh * hd)?,
                o_proj: ld.linear(&o, h * hd, d)?,
                heads: h,
                kv_heads: kvh,
                head_dim: hd,
                lora_dropout: None,
            },
            post_attention_layernorm: ld.norm(&post_norm, d, eps)?,
            mlp: SwiGluMlp {
                gate_proj: ld.linear(&gate, d, ffn)?,
                up_proj: ld.linear(&up, d, ffn)?,
                down_proj: ld.linear(&down, ffn, d)?,
                lora_dropout: None,
            },
        });
    }
    let norm = ld.norm("model.norm.weight", d, eps)?;
    let lm_head = if config.tie_word_embeddings {
        None
    } else {
        Some(ld.linear("lm_head.weight", d, config.vocab_size)?)
    };
    Ok(CausalLm {
        embed_tokens,
        layers,
        norm,
        lm_head,
        config: config.clone(),
    })
}

/// The `config.json` path of a checkpoint directory.
pub fn config_path(dir: impl AsRef<Path>) -> PathBuf {
    dir.as_ref().join(CONFIG_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{ints, to_f32};
    use rlp_core::{ScratchDir, SeededRng};

    fn tmp(name: &str) -> ScratchDir {
        ScratchDir::new(&format!("ckpt-{name}")).unwrap()
    }

    /// F16 and BF16 files are half the size of F32 ones and load back within their rounding:
    /// relative error ≤ 2⁻¹¹ (f16, 10 mantissa bits, round to nearest) and ≤ 2⁻⁸ (bf16, 7 bits)
    /// for values in the normal range, which N(0, 0.02²) weights are (|x| ≫ 6.1e-5 mostly;
    /// subnormal f16 values get an absolute bound of 2⁻²⁵).
    #[test]
    fn half_precision_saves_load_within_rounding() {
        let d = test_backend().device().unwrap();
        let model = CausalLm::init(&LlamaConfig::tiny(40), &mut SeededRng::new(3), &d).unwrap();
        let full = host_tensors(&model);
        let f32_dir = tmp("dtype-f32");
        save(&model, &f32_dir).unwrap();
        let f32_size = std::fs::metadata(f32_dir.join(WEIGHTS_FILE)).unwrap().len();
        for (dtype, rel) in [
            (StoreDtype::F16, 2f32.powi(-11)),
            (StoreDtype::Bf16, 2f32.powi(-8)),
        ] {
            let dir = tmp("dtype");
            save(&model, &dir).unwrap();
            save_weights_as(&model, &dir, dtype).unwrap();
            let size = std::fs::metadata(dir.join(WEIGHTS_FILE)).unwrap().len();
            assert!(
                size * 2 < f32_size + 4096,
                "{dtype:?}: {size} vs {f32_size}"
            );
            let back = load(&dir, &d).unwrap();
            for ((name, (_, a)), (_, (_, b))) in full.iter().zip(host_tensors(&back)) {
                for (x, y) in a.iter().zip(&b) {
                    let bound = (rel * x.abs()).max(2f32.powi(-25));
                    assert!((x - y).abs() <= bound, "{dtype:?} {name}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn save_then_load_round_trips_exactly() {
        let d = test_backend().device().unwrap();
        for tied in [false, true] {
            let mut cfg = LlamaConfig::tiny(40);
            cfg.tie_word_embeddings = tied;
            let model = CausalLm::init(&cfg, &mut SeededRng::new(11), &d).unwrap();
            let dir = tmp(&format!("rt{tied}"));
            save(&model, &dir).unwrap();
            let back = load(&dir, &d).unwrap();
            assert_eq!(back.config, model.config);
            let a = slots(&model);
            let b = slots(&back);
            assert_eq!(a.len(), b.len());
            for ((na, sa), (nb, sb)) in a.iter().zip(&b) {
                assert_eq!(na, nb);
                assert_eq!(host_tensor(sa), host_tensor(sb), "{na}");
            }
            let toks = ints(vec![1, 5, 7, 9], [1, 4], &d);
            assert_eq!(
                to_f32(model.forward(toks.clone(), None).logits),
                to_f32(back.forward(toks, None).logits)
            );
            let names = read_safetensors(&dir.join(WEIGHTS_FILE)).unwrap();
            assert!(names.contains_key("model.layers.1.self_attn.q_proj.weight"));
            assert_eq!(names.contains_key("lm_head.weight"), !tied);
            assert_eq!(
                names["model.layers.0.mlp.gate_proj.weight"].0,
                vec![128, 64]
            );
        }
    }

    #[test]
    fn sharded_checkpoints_load_like_single_files() {
        let d = test_backend().device().unwrap();
        let cfg = LlamaConfig::tiny(40);
        let model = CausalLm::init(&cfg, &mut SeededRng::new(5), &d).unwrap();
        let dir = tmp("sharded");
        save(&model, &dir).unwrap();
        let all = read_safetensors(&dir.join(WEIGHTS_FILE)).unwrap();
        std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
        // HF's layout: shards named in model.safetensors.index.json's weight_map.
        let (mut a, mut b, mut map) = (vec![], vec![], serde_json::Map::new());
        for (i, (name, t)) in all.into_iter().enumerate() {
            let shard = if i % 2 == 0 {
                "model-00001-of-00002.safetensors"
            } else {
                "model-00002-of-00002.safetensors"
            };
            map.insert(name.clone(), serde_json::json!(shard));
            if i % 2 == 0 {
                a.push((name, t))
            } else {
                b.push((name, t))
            }
        }
        write_safetensors(&a, &dir.join("model-00001-of-00002.safetensors")).unwrap();
        write_safetensors(&b, &dir.join("model-00002-of-00002.safetensors")).unwrap();
        let index = serde_json::json!({"metadata": {}, "weight_map": map});
        std::fs::write(dir.join(INDEX_FILE), index.to_string()).unwrap();
        let back = load(&dir, &d).unwrap();
        let toks = ints(vec![1, 5, 7, 9], [1, 4], &d);
        assert_eq!(
            to_f32(model.forward(toks.clone(), None).logits),
            to_f32(back.forward(toks, None).logits)
        );
        // A shard that is listed but absent is an error naming it.
        std::fs::remove_file(dir.join("model-00002-of-00002.safetensors")).unwrap();
        let e = load(&dir, &d).unwrap_err().to_string();
        assert!(e.contains("model-00002-of-00002.safetensors"), "{e}");
    }

    #[test]
    fn missing_or_misshaped_tensors_are_named() {
        let d = test_backend().device().unwrap();
        let cfg = LlamaConfig::tiny(40);
        let model = CausalLm::init(&cfg, &mut SeededRng::new(1), &d).unwrap();
        let dir = tmp("bad");
        save(&model, &dir).unwrap();
        let mut t = read_safetensors(&dir.join(WEIGHTS_FILE)).unwrap();
        t.remove("model.layers.1.mlp.up_proj.weight");
        let e = from_tensors(&cfg, t.clone(), Path::new("x.safetensors"), &d)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("model.layers.1.mlp.up_proj.weight") && e.contains("missing"),
            "{e}"
        );
        t.insert(
            "model.layers.1.mlp.up_proj.weight".into(),
            (vec![3, 3], vec![0.0; 9]),
        );
        let e = from_tensors(&cfg, t, Path::new("x.safetensors"), &d)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shape [3, 3]"), "{e}");
        std::fs::write(dir.join(WEIGHTS_FILE), b"garbage").unwrap();
        assert!(
            load(&dir, &d)
                .unwrap_err()
                .to_string()
                .contains("model.safetensors")
        );
        assert!(
            load(tmp("none"), &d)
                .unwrap_err()
                .to_string()
                .contains("config.json")
        );
    }

    /// A small two-tensor file's bytes: `[u64 header length][JSON header][data]`.
    fn small_file(dir: &Path) -> Vec<u8> {
        let path = dir.join("w.safetensors");
        let tensors = vec![
            ("a.weight".to_string(), (vec![2, 3], vec![1.0; 6])),
            ("b.weight".to_string(), (vec![4], vec![2.0; 4])),
        ];
        write_safetensors(&tensors, &path).unwrap();
        std::fs::read(&path).unwrap()
    }

    fn read_err(dir: &Path, name: &str, bytes: &[u8]) -> String {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        read_safetensors(&path).unwrap_err().to_string()
    }

    /// Truncation, appended bytes, an out-of-range offset and a header length past the end:
    /// each an error naming the file and the tensor (or the header) in plain words.
    #[test]
    fn corrupt_safetensors_are_named_errors() {
        let d = tmp("corrupt");
        let good = small_file(d.path());
        let e = read_err(d.path(), "short.safetensors", &good[..good.len() - 4]);
        assert!(
            e.contains("short.safetensors") && e.contains("truncated"),
            "{e}"
        );
        let mut long = good.clone();
        long.extend([0; 8]);
        let e = read_err(d.path(), "long.safetensors", &long);
        assert!(e.contains("bytes appended"), "{e}");
        let e = read_err(d.path(), "tiny.safetensors", &good[..5]);
        assert!(
            e.contains("(header)") && e.contains("8-byte header length"),
            "{e}"
        );
        // Move b.weight's offsets past the data section, keeping the header's length.
        let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&good[8..8 + n]).unwrap();
        let moved = header.replace("[24,40]", "[24,99]");
        assert_ne!(moved, header, "{header}");
        let mut bad = good.clone();
        bad[8..8 + n].copy_from_slice(moved.as_bytes());
        let e = read_err(d.path(), "offset.safetensors", &bad);
        assert!(
            e.contains("offset.safetensors") && e.contains("b.weight"),
            "{e}"
        );
        assert!(
            e.contains("data_offsets end at byte 99 of a 40-byte data section"),
            "{e}"
        );
    }

    #[test]
    fn non_finite_weights_are_refused_naming_the_tensor() {
        let d = tmp("nan");
        let path = d.join("w.safetensors");
        let tensors = vec![
            ("a.weight".to_string(), (vec![2], vec![1.0, 2.0])),
            (
                "b.weight".to_string(),
                (vec![3], vec![1.0, f32::NAN, f32::INFINITY]),
            ),
        ];
        write_safetensors(&tensors, &path).unwrap();
        let e = read_safetensors(&path).unwrap_err().to_string();
        assert!(
            e.contains("b.weight") && e.contains("2 of its 3 values are NaN"),
            "{e}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(rlp_core::fuzz::cases(256)))]
        /// Mutation fuzzing: truncations and bit flips anywhere, and the header length set to
        /// extremes; reading either succeeds or errors, never panics.
        #[test]
        fn mutated_safetensors_never_panic(
            cut in 0usize..256,
            flips in proptest::collection::vec((0usize..256, 0u8..8), 0..6),
            length in proptest::option::of(proptest::prop_oneof![
                proptest::strategy::Just(0u64),
                proptest::strategy::Just(u64::MAX),
                0u64..512,
            ]),
        ) {
            let d = tmp("fuzz");
            let mut b = small_file(d.path());
            for (at, bit) in flips {
                let n = b.len();
                b[at % n] ^= 1 << bit;
            }
            if let Some(len) = length {
                b[..8].copy_from_slice(&len.to_le_bytes());
            }
            let keep = b.len() - cut % b.len();
            b.truncate(keep);
            let path = d.join("m.safetensors");
            std::fs::write(&path, &b).unwrap();
            let _ = read_safetensors(&path);
        }
    }
}
