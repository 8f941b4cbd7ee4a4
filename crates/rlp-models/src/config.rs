//! The decoder configuration, with Hugging Face `LlamaConfig` field names so that a
//! `config.json` written here loads in `transformers` and vice versa.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Llama-architecture hyperparameters (HF `LlamaConfig` names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Always `["LlamaForCausalLM"]` when written by rlp.
    #[serde(default = "default_architectures")]
    pub architectures: Vec<String>,
    /// Always `"llama"`.
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Vocabulary size (rows of the embedding matrix).
    pub vocab_size: usize,
    /// Model width `d`.
    pub hidden_size: usize,
    /// SwiGLU inner width.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention); defaults to the query heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; defaults to `hidden_size / num_attention_heads`.
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// RMSNorm epsilon.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// RoPE base θ.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Context window.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Whether the LM head shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Beginning-of-sequence id.
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence id (generation stops there by default). HF configs that list several
    /// (`[128001, 128009]`) are read as their first.
    #[serde(default, deserialize_with = "one_or_first")]
    pub eos_token_id: Option<u32>,
    /// Padding id.
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    /// Stored weight dtype: `"float32"`, or `"float16"`/`"bfloat16"` for half-precision files
    /// (transformers 5 calls it `dtype`, read here too).
    #[serde(default = "default_dtype", alias = "dtype")]
    pub torch_dtype: String,
    /// Activation; only `"silu"` is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// HF's RoPE scaling block; only its absence (`null`) is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<serde_json::Value>,
    /// transformers 5's RoPE block, `{"rope_theta": θ, "rope_type": "default"}`, which replaces
    /// the top-level `rope_theta`: its θ is read into [`Self::rope_theta`], and a rope type other
    /// than `default` is refused. Kept as read, so a round trip writes it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_parameters: Option<serde_json::Value>,
    /// Biases on q/k/v/o; only `false` is supported.
    #[serde(default)]
    pub attention_bias: bool,
    /// Biases on the MLP; only `false` is supported.
    #[serde(default)]
    pub mlp_bias: bool,
}

/// Reads `null`, an id, or a list of ids (taking the first).
fn one_or_first<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u32),
        Many(Vec<u32>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(id)) => Some(id),
        Some(OneOrMany::Many(ids)) => ids.first().copied(),
    })
}

fn default_architectures() -> Vec<String> {
    vec!["LlamaForCausalLM".into()]
}
fn default_model_type() -> String {
    "llama".into()
}
fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> usize {
    2048
}
fn default_dtype() -> String {
    "float32".into()
}
fn default_act() -> String {
    "silu".into()
}

impl LlamaConfig {
    /// A config with the given sizes and defaults elsewhere (untied, θ = 10 000, eps = 1e-5).
    pub fn new(
        vocab_size: usize,
        hidden_size: usize,
        intermediate_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        num_key_value_heads: usize,
        max_position_embeddings: usize,
    ) -> Self {
        Self {
            architectures: default_architectures(),
            model_type: default_model_type(),
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads: Some(num_key_value_heads),
            head_dim: None,
            rms_norm_eps: default_eps(),
            rope_theta: default_theta(),
            max_position_embeddings,
            tie_word_embeddings: false,
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: None,
            torch_dtype: default_dtype(),
            hidden_act: default_act(),
            rope_scaling: None,
            rope_parameters: None,
            attention_bias: false,
            mlp_bias: false,
        }
    }

    /// A tiny model for tests: 2 layers, d = 64, 4 query / 2 KV heads, FFN 128.
    pub fn tiny(vocab_size: usize) -> Self {
        Self::new(vocab_size, 64, 128, 2, 4, 2, 256)
    }

    /// Key/value heads (GQA), defaulting to the query heads.
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Checks every constraint the model relies on; `origin` names the file in the error.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let err = |field: &str, message: String| Err(ModelError::config(origin, field, message));
        ModelError::require_positive(
            origin,
            &[
                ("vocab_size", self.vocab_size),
                ("hidden_size", self.hidden_size),
                ("intermediate_size", self.intermediate_size),
                ("num_hidden_layers", self.num_hidden_layers),
                ("num_attention_heads", self.num_attention_heads),
                ("max_position_embeddings", self.max_position_embeddings),
            ],
        )?;
        let kv = self.kv_heads();
        if kv == 0 || self.num_attention_heads % kv != 0 {
            return err(
                "num_key_value_heads",
                format!(
                    "{kv} does not divide num_attention_heads = {}",
                    self.num_attention_heads
                ),
            );
        }
        if self.head_dim.is_none() && self.hidden_size % self.num_attention_heads != 0 {
            return err(
                "hidden_size",
                format!(
                    "{} is not divisible by num_attention_heads = {}",
                    self.hidden_size, self.num_attention_heads
                ),
            );
        }
        if self.head_dim() % 2 != 0 {
            return err(
                "head_dim",
                format!("{} must be even for RoPE", self.head_dim()),
            );
        }
        if self.hidden_act != "silu" {
            return err(
                "hidden_act",
                format!("`{}` is not supported (silu only)", self.hidden_act),
            );
        }
        if let Some(scaling) = self.rope_scaling.as_ref().filter(|v| !v.is_null()) {
            return err(
                "rope_scaling",
                format!("{scaling} is not supported (plain RoPE only)"),
            );
        }
        for (field, on) in [
            ("attention_bias", self.attention_bias),
            ("mlp_bias", self.mlp_bias),
        ] {
            if on {
                return err(field, "biases are not supported (Llama has none)".into());
            }
        }
        if !(self.rms_norm_eps > 0.0) {
            return err("rms_norm_eps", "must be positive".into());
        }
        if !(self.rope_theta > 0.0) {
            return err("rope_theta", "must be positive".into());
        }
        for (field, id) in [
            ("bos_token_id", self.bos_token_id),
            ("eos_token_id", self.eos_token_id),
            ("pad_token_id", self.pad_token_id),
        ] {
            if let Some(id) = id {
                if id as usize >= self.vocab_size {
                    return err(field, format!("{id} ≥ vocab_size {}", self.vocab_size));
                }
            }
        }
        Ok(())
    }

    /// Reads and validates a `config.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Parses and validates the text of a `config.json`; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        let json_err = |e: serde_json::Error| ModelError::Config {
            origin: origin.to_string(),
            field: "(json)".into(),
            message: e.to_string(),
        };
        let raw: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
        let mut cfg: Self = serde_json::from_value(raw.clone()).map_err(json_err)?;
        cfg.read_rope_parameters(raw.get("rope_theta").and_then(|v| v.as_f64()), origin)?;
        if !cfg.model_type.is_empty() && cfg.model_type != "llama" {
            return Err(ModelError::Config {
                origin: origin.to_string(),
                field: "model_type".into(),
                message: format!("`{}` is not a Llama-architecture model", cfg.model_type),
            });
        }
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Takes θ from transformers 5's `rope_parameters` when the top level has none (and
    /// checks the two agree when both are there), refusing rope types other than `default`.
    fn read_rope_parameters(&mut self, top_level_theta: Option<f64>, origin: &str) -> Result<()> {
        let Some(params) = self.rope_parameters.as_ref().filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let err = |message: String| Err(ModelError::config(origin, "rope_parameters", message));
        let Some(obj) = params.as_object() else {
            return err(format!("{params} is not an object"));
        };
        match obj.get("rope_type").and_then(|t| t.as_str()) {
            None | Some("default") => {}
            Some(other) => {
                return err(format!(
                    "rope_type `{other}` is not implemented (rlp's decoder has plain RoPE, \
                     rope_type `default`); its outputs would be wrong"
                ));
            }
        }
        if let Some(theta) = obj.get("rope_theta") {
            let Some(theta) = theta.as_f64() else {
                return err(format!("rope_theta {theta} is not a number"));
            };
            match top_level_theta {
                Some(top) if (top - theta).abs() > 1e-9 * theta.abs() => {
                    return err(format!(
                        "rope_theta {theta} disagrees with the top-level rope_theta {top}"
                    ));
                }
                _ => self.rope_theta = theta,
            }
        }
        Ok(())
    }

    /// Writes `config.json` (pretty-printed).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = serde_json::to_string_pretty(self).expect("config serialises");
        std::fs::write(path, text).map_err(|e| ModelError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hf_smollm2_style_config() {
        // The fields SmolLM2-135M's config.json carries (subset; unknown ones are ignored).
        let json = r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":49152,
            "hidden_size":576,"intermediate_size":1536,"num_hidden_layers":30,"num_attention_heads":9,
            "num_key_value_heads":3,"rms_norm_eps":1e-05,"rope_theta":100000,"max_position_embeddings":8192,
            "tie_word_embeddings":true,"bos_token_id":1,"eos_token_id":2,"pretraining_tp":1}"#;
        let c: LlamaConfig = serde_json::from_str(json).unwrap();
        c.validate("test").unwrap();
        assert_eq!((c.head_dim(), c.kv_heads()), (64, 3));
        // Llama-3-style fields: several eos ids, explicit nulls and false biases.
        let json = json.replace(
            r#""eos_token_id":2"#,
            r#""eos_token_id":[2,0],"rope_scaling":null,"attention_bias":false"#,
        );
        let c: LlamaConfig = serde_json::from_str(&json).unwrap();
        c.validate("test").unwrap();
        assert_eq!(c.eos_token_id, Some(2));
    }

    #[test]
    fn unsupported_llama_variants_are_refused_by_field() {
        for (field, json) in [
            (
                "rope_scaling",
                r#"{"rope_scaling":{"type":"linear","factor":2.0}}"#,
            ),
            ("attention_bias", r#"{"attention_bias":true}"#),
            ("mlp_bias", r#"{"mlp_bias":true}"#),
        ] {
            let mut v = serde_json::to_value(LlamaConfig::tiny(32)).unwrap();
            let extra: serde_json::Value = serde_json::from_str(json).unwrap();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let c: LlamaConfig = serde_json::from_value(v).unwrap();
            let e = c.validate("config.json").unwrap_err().to_string();
            assert!(e.contains(field) && e.contains("config.json"), "{e}");
        }
    }

    #[test]
    fn invalid_fields_are_named() {
        let mut c = LlamaConfig::tiny(32);
        c.num_key_value_heads = Some(3);
        let e = c.validate("cfg.json").unwrap_err().to_string();
        assert!(
            e.contains("cfg.json") && e.contains("num_key_value_heads"),
            "{e}"
        );
        let mut c = LlamaConfig::tiny(32);
        c.eos_token_id = Some(99);
        assert!(
            c.validate("x")
                .unwrap_err()
                .to_string()
                .contains("eos_token_id")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(rlp_core::fuzz::cases(256)))]
        /// Mutation fuzzing of a valid `config.json` (SmolLM2-135M's shape): bit flips, digits
        /// and signs inserted, truncation. Parsing either succeeds with a config that passes
        /// validation or errors naming the file; it never panics (no division by a zero head
        /// count, no overflow).
        #[test]
        fn mutated_config_json_never_panics(
            cut in 0usize..1024,
            flips in proptest::collection::vec((0usize..1024, 0u8..8), 0..4),
            inserts in proptest::collection::vec((0usize..1024, 0usize..6), 0..4),
        ) {
            let mut b = serde_json::to_vec_pretty(&LlamaConfig::tiny(320)).unwrap();
            for (at, bit) in flips {
                let n = b.len();
                b[at % n] ^= 1 << bit;
            }
            for (at, which) in inserts {
                let at = at % (b.len() + 1);
                b.insert(at, [b'0', b'9', b'-', b'.', b'e', b'"'][which]);
            }
            let keep = b.len() - cut % b.len();
            b.truncate(keep);
            let text = String::from_utf8_lossy(&b);
            if let Err(e) = LlamaConfig::from_json(&text, "config.json") {
                proptest::prop_assert!(e.to_string().contains("config.json"), "{e}");
            }
        }
    }

    /// A transformers 5 `config.json`: RoPE under `rope_parameters`, `dtype` for `torch_dtype`.
    fn transformers5(rope_parameters: &str, top_level: &str) -> String {
        format!(
            r#"{{"model_type":"llama","vocab_size":64,"hidden_size":32,"intermediate_size":48,
            "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
            "dtype":"float32","rope_parameters":{rope_parameters}{top_level}}}"#
        )
    }

    #[test]
    fn reads_transformers5_rope_parameters() {
        let c = LlamaConfig::from_json(
            &transformers5(r#"{"rope_type":"default","rope_theta":500000.0}"#, ""),
            "c.json",
        )
        .unwrap();
        assert_eq!(c.rope_theta, 500000.0);
        assert_eq!(c.torch_dtype, "float32");
        // Written back as read.
        let again = LlamaConfig::from_json(&serde_json::to_string(&c).unwrap(), "c").unwrap();
        assert_eq!(again, c);
        for (params, top, needle) in [
            (
                r#"{"rope_type":"llama3","rope_theta":500000.0,"factor":8.0}"#,
                "",
                "`llama3`",
            ),
            (r#"{"rope_type":"linear","rope_theta":1e4}"#, "", "`linear`"),
            (
                r#"{"rope_theta":500000.0}"#,
                r#","rope_theta":10000.0"#,
                "disagrees",
            ),
            (r#"[1, 2]"#, "", "not an object"),
        ] {
            let e = LlamaConfig::from_json(&transformers5(params, top), "c.json")
                .unwrap_err()
                .to_string();
            assert!(e.contains("rope_parameters") && e.contains(needle), "{e}");
        }
    }
}
