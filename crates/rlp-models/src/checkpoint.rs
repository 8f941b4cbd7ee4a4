//! Checkpoints as Hugging Face writes them: `model.safetensors` with HF tensor names
//! (`model.layers.N.self_attn.q_proj.weight`, …, `[out, in]` layout) and `config.json` with
//! `LlamaConfig` field names. Loading accepts F32, F16 and BF16 tensors; saving writes F32, so a
//! save/load round trip is exact. Files are written to a temporary name and renamed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::tensor::{Dtype, TensorView};

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

fn slots(model: &CausalLm) -> Vec<(String, Slot<'_>)> {
    let mut v = vec![(
        "model.embed_tokens.weight".to_string(),
        Slot::Plain2(&model.embed_tokens.weight),
    )];
    for (i, l) in model.layers.iter().enumerate() {
        let p = format!("model.layers.{i}");
        v.push((
            format!("{p}.input_layernorm.weight"),
            Slot::Plain1(&l.input_layernorm.gamma),
        ));
        v.push((
            format!("{p}.self_attn.q_proj.weight"),
            Slot::Linear(&l.self_attn.q_proj),
        ));
        v.push((
            format!("{p}.self_attn.k_proj.weight"),
            Slot::Linear(&l.self_attn.k_proj),
        ));
        v.push((
            format!("{p}.self_attn.v_proj.weight"),
            Slot::Linear(&l.self_attn.v_proj),
        ));
        v.push((
            format!("{p}.self_attn.o_proj.weight"),
            Slot::Linear(&l.self_attn.o_proj),
        ));
        v.push((
            format!("{p}.post_attention_layernorm.weight"),
            Slot::Plain1(&l.post_attention_layernorm.gamma),
        ));
        v.push((
            format!("{p}.mlp.gate_proj.weight"),
            Slot::Linear(&l.mlp.gate_proj),
        ));
        v.push((
            format!("{p}.mlp.up_proj.weight"),
            Slot::Linear(&l.mlp.up_proj),
        ));
        v.push((
            format!("{p}.mlp.down_proj.weight"),
            Slot::Linear(&l.mlp.down_proj),
        ));
    }
    v.push(("model.norm.weight".into(), Slot::Plain1(&model.norm.gamma)));
    if let Some(head) = &model.lm_head {
        v.push(("lm_head.weight".into(), Slot::Linear(head)));
    }
    v
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
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let host: Vec<(String, Vec<usize>, Vec<u8>)> = slots(model)
        .into_iter()
        .map(|(name, slot)| {
            let (shape, vals) = host_tensor(&slot);
            let bytes = vals.iter().flat_map(|x| x.to_le_bytes()).collect();
            (name, shape, bytes)
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = host
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).expect("consistent view"),
            )
        })
        .collect();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    let path = dir.join(WEIGHTS_FILE);
    let tmp = dir.join(format!("{WEIGHTS_FILE}.tmp"));
    safetensors::serialize_to_file(views, Some(meta), &tmp).map_err(|e| {
        ModelError::Checkpoint {
            path: tmp.clone(),
            tensor: "(file)".into(),
            message: e.to_string(),
        }
    })?;
    std::fs::rename(&tmp, &path).map_err(|e| ModelError::io(&path, e))
}

/// Saves `config.json` and `model.safetensors` into `dir`.
pub fn save(model: &CausalLm, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    model.config.save(&tmp)?;
    std::fs::rename(&tmp, dir.join(CONFIG_FILE))
        .map_err(|e| ModelError::io(dir.join(CONFIG_FILE), e))?;
    save_weights(model, dir)
}

/// Reads every tensor of a safetensors file as f32 host data: name → (shape, values).
pub fn read_safetensors(path: &Path) -> Result<HashMap<String, (Vec<usize>, Vec<f32>)>> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| ModelError::Checkpoint {
        path: path.to_path_buf(),
        tensor: "(header)".into(),
        message: e.to_string(),
    })?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let vals: Vec<f32> = match view.dtype() {
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
            other => {
                return Err(ModelError::Checkpoint {
                    path: path.to_path_buf(),
                    tensor: name,
                    message: format!("unsupported dtype {other:?} (F32, F16, BF16 are)"),
                });
            }
        };
        out.insert(name, (view.shape().to_vec(), vals));
    }
    Ok(out)
}

/// Loads a checkpoint directory (`config.json` + `model.safetensors`) onto `device`.
pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<CausalLm> {
    let dir = dir.as_ref();
    let config = LlamaConfig::load(dir.join(CONFIG_FILE))?;
    let path = dir.join(WEIGHTS_FILE);
    let tensors = read_safetensors(&path)?;
    from_tensors(&config, tensors, &path, device)
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

    /// HF `[out, in]` → burn `[in, out]`.
    fn linear(&mut self, name: &str, d_in: usize, d_out: usize) -> Result<Linear> {
        let v = self.take(name, &[d_out, d_in])?;
        let t = Tensor::<2>::from_data(TensorData::new(v, [d_out, d_in]), self.device);
        Ok(init::linear_from(t.transpose()))
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
        let p = format!("model.layers.{i}");
        layers.push(DecoderLayer {
            input_layernorm: ld.norm(&format!("{p}.input_layernorm.weight"), d, eps)?,
            self_attn: Attention {
                q_proj: ld.linear(&format!("{p}.self_attn.q_proj.weight"), d, h * hd)?,
                k_proj: ld.linear(&format!("{p}.self_attn.k_proj.weight"), d, kvh * hd)?,
                v_proj: ld.linear(&format!("{p}.self_attn.v_proj.weight"), d, kvh * hd)?,
                o_proj: ld.linear(&format!("{p}.self_attn.o_proj.weight"), h * hd, d)?,
                heads: h,
                kv_heads: kvh,
                head_dim: hd,
            },
            post_attention_layernorm: ld.norm(
                &format!("{p}.post_attention_layernorm.weight"),
                d,
                eps,
            )?,
            mlp: SwiGluMlp {
                gate_proj: ld.linear(&format!("{p}.mlp.gate_proj.weight"), d, ffn)?,
                up_proj: ld.linear(&format!("{p}.mlp.up_proj.weight"), d, ffn)?,
                down_proj: ld.linear(&format!("{p}.mlp.down_proj.weight"), ffn, d)?,
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
    use rlp_core::SeededRng;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{ints, to_f32};

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rlp-ckpt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
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
}
