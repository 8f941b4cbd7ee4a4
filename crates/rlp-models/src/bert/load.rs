//! Loading a Hugging Face BERT checkpoint directory (`config.json` + `model.safetensors`) into a
//! [`BertModel`]. Tensor names are accepted with or without the `bert.` prefix (`BertModel` vs
//! task-head checkpoints); F32, F16 and BF16 tensors are read; tensors the encoder does not use
//! (`pooler.*`, the I64 `embeddings.position_ids` buffer, task heads) are ignored.

use std::path::Path;

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::SafeTensors;

use super::config::BertConfig;
use super::embeddings::BertEmbeddings;
use super::layer::{BertAttention, BertLayer};
use super::model::BertModel;
use crate::checkpoint::{CONFIG_FILE, WEIGHTS_FILE, linear_weight, view_f32};
use crate::error::{ModelError, Result};

/// The prefix task-head checkpoints (`BertForMaskedLM`, …) put before the encoder's names.
pub const BERT_PREFIX: &str = "bert.";

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`. Errors name the file and
/// the field or tensor at fault.
pub fn load_bert(dir: impl AsRef<Path>, device: &Device) -> Result<BertModel> {
    let dir = dir.as_ref();
    let config = BertConfig::load(dir.join(CONFIG_FILE))?;
    let path = dir.join(WEIGHTS_FILE);
    let bytes = std::fs::read(&path).map_err(|e| ModelError::io(&path, e))?;
    from_safetensors(&config, &bytes, &path, device)
}

/// Builds a model from the bytes of a safetensors file, checking every tensor's presence and
/// shape (`[out, in]` HF layout). `origin` names the file in errors.
pub fn from_safetensors(
    config: &BertConfig,
    bytes: &[u8],
    origin: &Path,
    device: &Device,
) -> Result<BertModel> {
    config.validate(&origin.display().to_string())?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Checkpoint {
        path: origin.to_path_buf(),
        tensor: "(header)".into(),
        message: e.to_string(),
    })?;
    let w = Weights { st, origin, device };
    let (d, ffn, eps) = (
        config.hidden_size,
        config.intermediate_size,
        config.layer_norm_eps,
    );
    let embeddings = BertEmbeddings {
        word_embeddings: w.embedding("embeddings.word_embeddings.weight", config.vocab_size, d)?,
        position_embeddings: w.embedding(
            "embeddings.position_embeddings.weight",
            config.max_position_embeddings,
            d,
        )?,
        token_type_embeddings: w.embedding(
            "embeddings.token_type_embeddings.weight",
            config.type_vocab_size,
            d,
        )?,
        layer_norm: w.layer_norm("embeddings.LayerNorm", d, eps)?,
    };
    let mut layers = Vec::with_capacity(config.num_hidden_layers);
    for i in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{i}");
        layers.push(BertLayer {
            attention: BertAttention {
                query: w.linear(&format!("{p}.attention.self.query"), d, d)?,
                key: w.linear(&format!("{p}.attention.self.key"), d, d)?,
                value: w.linear(&format!("{p}.attention.self.value"), d, d)?,
                output: w.linear(&format!("{p}.attention.output.dense"), d, d)?,
                norm: w.layer_norm(&format!("{p}.attention.output.LayerNorm"), d, eps)?,
                heads: config.num_attention_heads,
            },
            intermediate: w.linear(&format!("{p}.intermediate.dense"), d, ffn)?,
            output: w.linear(&format!("{p}.output.dense"), ffn, d)?,
            norm: w.layer_norm(&format!("{p}.output.LayerNorm"), d, eps)?,
        });
    }
    Ok(BertModel {
        embeddings,
        layers,
        config: config.clone(),
    })
}

/// Reads named tensors out of a safetensors file lazily, with shape checks.
struct Weights<'a> {
    st: SafeTensors<'a>,
    origin: &'a Path,
    device: &'a Device,
}

impl Weights<'_> {
    fn error(&self, name: &str, message: String) -> ModelError {
        ModelError::Checkpoint {
            path: self.origin.to_path_buf(),
            tensor: name.to_string(),
            message,
        }
    }

    /// Whether `name` (or `bert.name`) is present.
    fn has(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok() || self.st.tensor(&format!("{BERT_PREFIX}{name}")).is_ok()
    }

    /// The tensor `name` (or `bert.name`) as f32 values, checked to have shape `want`.
    fn host(&self, name: &str, want: &[usize]) -> Result<Vec<f32>> {
        let view = self
            .st
            .tensor(name)
            .or_else(|_| self.st.tensor(&format!("{BERT_PREFIX}{name}")))
            .map_err(|_| self.error(name, format!("missing (nor as `{BERT_PREFIX}{name}`)")))?;
        if view.shape() != want {
            return Err(self.error(name, format!("shape {:?}, expected {want:?}", view.shape())));
        }
        view_f32(&view).map_err(|message| self.error(name, message))
    }

    fn tensor<const D: usize>(&self, name: &str, want: [usize; D]) -> Result<Tensor<D>> {
        let vals = self.host(name, &want)?;
        Ok(Tensor::from_data(TensorData::new(vals, want), self.device))
    }

    fn embedding(&self, name: &str, rows: usize, d: usize) -> Result<Embedding> {
        Ok(Embedding {
            weight: Param::from_tensor(self.tensor(name, [rows, d])?),
        })
    }

    /// `prefix.weight` (HF `[out, in]`, made burn's contiguous `[in, out]` by
    /// [`linear_weight`]) and `prefix.bias`.
    fn linear(&self, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear> {
        let v = self.host(&format!("{prefix}.weight"), &[d_out, d_in])?;
        let weight = linear_weight(&v, d_in, d_out, self.device);
        let bias = self.tensor(&format!("{prefix}.bias"), [d_out])?;
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(bias)),
        })
    }

    /// `prefix.weight` and `prefix.bias`, or the original BERT names `prefix.gamma` and
    /// `prefix.beta` (which transformers also renames on load).
    fn layer_norm(&self, prefix: &str, d: usize, eps: f64) -> Result<LayerNorm> {
        let (g, b) =
            if !self.has(&format!("{prefix}.weight")) && self.has(&format!("{prefix}.gamma")) {
                ("gamma", "beta")
            } else {
                ("weight", "bias")
            };
        let mut norm = LayerNormConfig::new(d).with_epsilon(eps).init(self.device);
        norm.gamma = Param::from_tensor(self.tensor(&format!("{prefix}.{g}"), [d])?);
        norm.beta = Some(Param::from_tensor(
            self.tensor(&format!("{prefix}.{b}"), [d])?,
        ));
        Ok(norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bert::pooling::mean_pool;
    use rlp_core::SeededRng;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{ints, to_f32};
    use safetensors::tensor::{Dtype, TensorView};

    fn tiny() -> BertConfig {
        BertConfig::from_json(
            r#"{"model_type":"bert","vocab_size":20,"hidden_size":8,"num_hidden_layers":2,
                "num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":10}"#,
            "tiny",
        )
        .unwrap()
    }

    /// Every tensor of `tiny()` with HF names and random values, plus the extras real
    /// checkpoints carry (the I64 `position_ids` buffer and the pooler).
    fn tensors(prefix: &str) -> Vec<(String, Vec<usize>, Vec<u8>)> {
        let (v, d, f, p) = (20, 8, 16, 10);
        let mut shapes = vec![
            ("embeddings.word_embeddings.weight".to_string(), vec![v, d]),
            ("embeddings.position_embeddings.weight".into(), vec![p, d]),
            ("embeddings.token_type_embeddings.weight".into(), vec![2, d]),
            ("embeddings.LayerNorm.weight".into(), vec![d]),
            ("embeddings.LayerNorm.bias".into(), vec![d]),
            ("pooler.dense.weight".into(), vec![d, d]),
        ];
        for i in 0..2 {
            for (part, shape) in [
                ("attention.self.query.weight", vec![d, d]),
                ("attention.self.query.bias", vec![d]),
                ("attention.self.key.weight", vec![d, d]),
                ("attention.self.key.bias", vec![d]),
                ("attention.self.value.weight", vec![d, d]),
                ("attention.self.value.bias", vec![d]),
                ("attention.output.dense.weight", vec![d, d]),
                ("attention.output.dense.bias", vec![d]),
                ("attention.output.LayerNorm.weight", vec![d]),
                ("attention.output.LayerNorm.bias", vec![d]),
                ("intermediate.dense.weight", vec![f, d]),
                ("intermediate.dense.bias", vec![f]),
                ("output.dense.weight", vec![d, f]),
                ("output.dense.bias", vec![d]),
                ("output.LayerNorm.weight", vec![d]),
                ("output.LayerNorm.bias", vec![d]),
            ] {
                shapes.push((format!("encoder.layer.{i}.{part}"), shape));
            }
        }
        let mut rng = SeededRng::new(7);
        let mut out: Vec<_> = shapes
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                let vals = rng.normal_vec(n, 0.5);
                let bytes = vals.iter().flat_map(|x| x.to_le_bytes()).collect();
                (format!("{prefix}{name}"), shape, bytes)
            })
            .collect();
        let pos: Vec<u8> = (0..10i64).flat_map(|x| x.to_le_bytes()).collect();
        out.push((format!("{prefix}embeddings.position_ids"), vec![1, 10], pos));
        out
    }

    fn serialize(tensors: &[(String, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
        let views = tensors.iter().map(|(name, shape, bytes)| {
            let dtype = if name.ends_with("position_ids") {
                Dtype::I64
            } else {
                Dtype::F32
            };
            (
                name.clone(),
                TensorView::new(dtype, shape.clone(), bytes).unwrap(),
            )
        });
        safetensors::serialize(views, None).unwrap()
    }

    fn error(tensors: &[(String, Vec<usize>, Vec<u8>)]) -> String {
        let d = test_backend().device().unwrap();
        from_safetensors(&tiny(), &serialize(tensors), Path::new("m.safetensors"), &d)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn prefixed_and_plain_names_load_the_same_model() {
        let d = test_backend().device().unwrap();
        let o = Path::new("m.safetensors");
        let plain = from_safetensors(&tiny(), &serialize(&tensors("")), o, &d).unwrap();
        let bert = from_safetensors(&tiny(), &serialize(&tensors("bert.")), o, &d).unwrap();
        let ids = ints(vec![2, 5, 7, 3], [1, 4], &d);
        let mask = ints(vec![1; 4], [1, 4], &d);
        let a = to_f32(plain.forward(ids.clone(), mask.clone()).unwrap());
        let b = to_f32(bert.forward(ids, mask).unwrap());
        assert_eq!(a.len(), 32);
        assert_eq!(a, b);
    }

    #[test]
    fn padding_does_not_change_the_pooled_real_tokens() {
        let d = test_backend().device().unwrap();
        let o = Path::new("m.safetensors");
        let m = from_safetensors(&tiny(), &serialize(&tensors("")), o, &d).unwrap();
        let alone = {
            let mask = ints(vec![1; 3], [1, 3], &d);
            let h = m.forward(ints(vec![2, 5, 7], [1, 3], &d), mask.clone());
            to_f32(mean_pool(h.unwrap(), mask))
        };
        // Row 0 is the same sentence right-padded with two (arbitrary) ids; row 1 is unpadded.
        let mask = ints(vec![1, 1, 1, 0, 0, 1, 1, 1, 1, 1], [2, 5], &d);
        let ids = ints(vec![2, 5, 7, 0, 13, 1, 2, 3, 4, 5], [2, 5], &d);
        let padded = to_f32(mean_pool(m.forward(ids, mask.clone()).unwrap(), mask));
        for (x, y) in alone.iter().zip(&padded[..8]) {
            assert!((x - y).abs() < 1e-5, "{alone:?} vs {padded:?}");
        }
    }

    #[test]
    fn bad_inputs_are_named() {
        let d = test_backend().device().unwrap();
        let o = Path::new("m.safetensors");
        let m = from_safetensors(&tiny(), &serialize(&tensors("")), o, &d).unwrap();
        let run = |ids: Vec<i64>, mask: Vec<i64>, s: usize| {
            m.forward(ints(ids, [1, s], &d), ints(mask, [1, s], &d))
                .unwrap_err()
                .to_string()
        };
        assert!(run(vec![1, 20], vec![1, 1], 2).contains("outside the vocabulary"));
        assert!(run(vec![1, 2], vec![0, 0], 2).contains("no real token"));
        assert!(run(vec![1, 2], vec![1, 2], 2).contains("must be 0 or 1"));
        assert!(run(vec![1; 11], vec![1; 11], 11).contains("max_position_embeddings = 10"));
    }

    #[test]
    fn missing_or_misshaped_tensors_are_named() {
        let mut t = tensors("bert.");
        t.retain(|(n, _, _)| n != "bert.encoder.layer.1.output.dense.bias");
        let e = error(&t);
        assert!(
            e.starts_with("m.safetensors: tensor `encoder.layer.1.output.dense.bias`: missing"),
            "{e}"
        );
        let mut t = tensors("");
        t[0].1 = vec![8, 20];
        let e = error(&t);
        assert!(
            e.contains("`embeddings.word_embeddings.weight`: shape [8, 20], expected [20, 8]"),
            "{e}"
        );
        assert!(
            from_safetensors(
                &tiny(),
                b"junk",
                Path::new("m.safetensors"),
                &test_backend().device().unwrap()
            )
            .unwrap_err()
            .to_string()
            .contains("(header)")
        );
    }
}
