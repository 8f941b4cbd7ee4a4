//! Checkpoints as Hugging Face writes them: `model.safetensors` with HF tensor names
//! (`model.layers.N.self_attn.q_proj.weight`, …, `[out, in]` layout) and `config.json` with
//! `LlamaConfig` field names. Loading accepts F32, F16 and BF16 tensors; saving writes F32, so a
//! save/load round trip is exact. Files are written to a temporary name and renamed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::tensor::{Dtype, TensorView};

use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
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
        v.push((format!("{p}.input_layernorm.weight"), Slot::Plain1(&l.input_layernorm.gamma)));
        v.push((format!("{p}.self_attn.q_proj.weight"), Slot::Linear(&l.self_attn.q_proj)));
        v.push((format!("{p}.self_attn.k_proj.weight"), Slot::Linear(&l.self_attn.k_proj)));
        v.push((format!("{p}.self_attn.v_proj.weight"), Slot::Linear(&l.self_attn.v_proj)));
        v.push((format!("{p}.self_attn.o_proj.weight"), Slot::Linear(&l.self_attn.o_proj)));
        v.push((
            format!("{p}.post_attention_layernorm.weight"),
            Slot::Plain1(&l.post_attention_layernorm.gamma),
        ));
        v.push((format!("{p}.mlp.gate_proj.weight"), Slot::Linear(&l.mlp.gate_proj)));
        v.push((format!("{p}.mlp.up_proj.weight"), Slot::Linear(&l.mlp.up_proj)));
        v.push((format!("{p}.mlp.down_proj.weight"), Slot::Linear(&l.mlp.down_proj)));
    }
    v.push(("model.norm.weight".into(), Slot::Plain1(&model.norm.gamma)));
    if let Some(head) = &model.lm_head {
        v.push(("lm_head.weight".into(), Slot::Linear(head)));
    }
    v
}

/// Host copy of a tensor in HF layout: `(shape, values)`.
fn host_tensor(slot: &Slot<'_>) -> (Vec<usize>, Vec<f32>) {
    let (t, shape) = match slot {
        Slot::Linear(l) => {
            let w = l.weight.val().transpose();
            let s = w.dims().to_vec();
            (w.into_data(), s)
        }
        Slot::Plain2(p) => {
            let w = p.val();
            let s = w.dims().to_vec();
            (w.into_data(), s)
        }
        Slot::Plain1(p) => {
            let w = p.val();
            let s = w.dims().to_vec();
            (w.into_data(), s)
        }
    };
    (shape, t.convert::<f32>().try_into_vec::<f32>().expect("f32"))
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
        .map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).expect("consistent view")))
        .collect();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    let path = dir.join(WEIGHTS_FILE);
    let tmp = dir.join(format!("{WEIGHTS_FILE}.tmp"));
    safetensors::serialize_to_file(views, Some(meta), &tmp).map_err(|e| ModelError::Checkpoint {
        path: tmp.clone(),
        tensor: "(file)".into(),
        message: e.to_string(),
    })?;
    std::fs::rename(&tmp, &path).map_err(|e| ModelError::io(&path, e))
}

/// Saves `config.json` and `model.safetensors` into `dir`.
pub fn save(model: &CausalLm, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    model.config.save(&tmp)?;
    std::fs::rename(&tmp, dir.join(CONFIG_FILE)).map_err(|e| ModelError::io(dir.join(CONFIG_FILE), e))?;
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
            Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
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

/// Builds a model from HF-named host tensors, checking every name and shape. `origin` names the
/// file in errors. Tied models ignore a stray `lm_head.weight`.
pub fn from_tensors(
    config: &LlamaConfig,
    mut tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    origin: &Path,
    device: &Device,
) -> Result<CausalLm> {
    // Build a model of the right structure cheaply (zero-seeded), then replace every parameter.
    let mut rng = rlp_core::SeededRng::new(0);
    let mut model = CausalLm::init(config, &mut rng, device)?;
    let names: Vec<(String, Vec<usize>, bool)> = slots(&model)
        .into_iter()
        .map(|(n, s)| {
            let (shape, is_linear) = match &s {
                Slot::Linear(l) => {
                    let [i, o] = l.weight.dims();
                    (vec![o, i], true)
                }
                Slot::Plain2(p) => (p.dims().to_vec(), false),
                Slot::Plain1(p) => (p.dims().to_vec(), false),
            };
            (n, shape, is_linear)
        })
        .collect();
    let mut loaded: HashMap<String, (Vec<usize>, Vec<f32>)> = HashMap::new();
    for (name, want, _) in &names {
        let (shape, vals) = tensors.remove(name).ok_or_else(|| ModelError::Checkpoint {
            path: origin.to_path_buf(),
            tensor: name.clone(),
            message: "missing".into(),
        })?;
        if &shape != want {
            return Err(ModelError::Checkpoint {
                path: origin.to_path_buf(),
                tensor: name.clone(),
                message: format!("shape {shape:?}, expected {want:?}"),
            });
        }
        loaded.insert(name.clone(), (shape, vals));
    }
    let mut take2 = |name: &str, linear: bool| -> Tensor<2> {
        let (s, v) = loaded.remove(name).expect("checked above");
        let t = Tensor::<2>::from_data(TensorData::new(v, [s[0], s[1]]), device);
        if linear { t.transpose() } else { t }
    };
    model.embed_tokens.weight = Param::from_tensor(take2("model.embed_tokens.weight", false));
    let set = |lin: &mut Linear, t: Tensor<2>| lin.weight = Param::from_tensor(t);
    for i in 0..model.layers.len() {
        let p = format!("model.layers.{i}");
        let l = &mut model.layers[i];
        set(&mut l.self_attn.q_proj, take2(&format!("{p}.self_attn.q_proj.weight"), true));
        set(&mut l.self_attn.k_proj, take2(&format!("{p}.self_attn.k_proj.weight"), true));
        set(&mut l.self_attn.v_proj, take2(&format!("{p}.self_attn.v_proj.weight"), true));
        set(&mut l.self_attn.o_proj, take2(&format!("{p}.self_attn.o_proj.weight"), true));
        set(&mut l.mlp.gate_proj, take2(&format!("{p}.mlp.gate_proj.weight"), true));
        set(&mut l.mlp.up_proj, take2(&format!("{p}.mlp.up_proj.weight"), true));
        set(&mut l.mlp.down_proj, take2(&format!("{p}.mlp.down_proj.weight"), true));
    }
    if let Some(head) = model.lm_head.as_mut() {
        set(head, take2("lm_head.weight", true));
    }
    let mut take1 = |name: &str| -> Tensor<1> {
        let (s, v) = loaded.remove(name).expect("checked above");
        Tensor::<1>::from_data(TensorData::new(v, [s[0]]), device)
    };
    for i in 0..model.layers.len() {
        let p = format!("model.layers.{i}");
        model.layers[i].input_layernorm.gamma = Param::from_tensor(take1(&format!("{p}.input_layernorm.weight")));
        model.layers[i].post_attention_layernorm.gamma =
            Param::from_tensor(take1(&format!("{p}.post_attention_layernorm.weight")));
    }
    model.norm.gamma = Param::from_tensor(take1("model.norm.weight"));
    Ok(model)
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
            assert_eq!(names["model.layers.0.mlp.gate_proj.weight"].0, vec![128, 64]);
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
        let e = from_tensors(&cfg, t.clone(), Path::new("x.safetensors"), &d).unwrap_err().to_string();
        assert!(e.contains("model.layers.1.mlp.up_proj.weight") && e.contains("missing"), "{e}");
        t.insert("model.layers.1.mlp.up_proj.weight".into(), (vec![3, 3], vec![0.0; 9]));
        let e = from_tensors(&cfg, t, Path::new("x.safetensors"), &d).unwrap_err().to_string();
        assert!(e.contains("shape [3, 3]"), "{e}");
        std::fs::write(dir.join(WEIGHTS_FILE), b"garbage").unwrap();
        assert!(load(&dir, &d).unwrap_err().to_string().contains("model.safetensors"));
        assert!(load(tmp("none"), &d).unwrap_err().to_string().contains("config.json"));
    }
}
