//! [`BertConfig`]: the fields of a Hugging Face BERT `config.json` that the encoder needs, with
//! HF's names, and the checks that refuse what this implementation does not compute.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// A BERT encoder's configuration (`BertConfig` in transformers; unknown fields are ignored).
///
/// Only absolute position embeddings, exact (erf) GELU and encoder (non-decoder) use are
/// supported; [`BertConfig::validate`] rejects anything else by field name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// The architecture tag; `bert` (absent is taken as `bert`).
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Vocabulary size (rows of `word_embeddings`).
    pub vocab_size: usize,
    /// Model width `d`.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer (`hidden_size` must be a multiple).
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Feed-forward activation; only `gelu` (exact, erf-based) is supported.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// Longest sequence the position embeddings cover.
    pub max_position_embeddings: usize,
    /// Rows of `token_type_embeddings` (segment ids; this encoder always uses segment 0).
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Id of the padding token.
    #[serde(default)]
    pub pad_token_id: u32,
    /// Position embedding kind; only `absolute` is supported.
    #[serde(default = "default_position_embedding_type")]
    pub position_embedding_type: String,
    /// Whether the model is a (causal) decoder; must be `false`.
    #[serde(default)]
    pub is_decoder: bool,
}

fn default_model_type() -> String {
    "bert".into()
}
fn default_hidden_act() -> String {
    "gelu".into()
}
fn default_type_vocab_size() -> usize {
    2
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_position_embedding_type() -> String {
    "absolute".into()
}

/// Fields a BERT `config.json` must carry (the rest have transformers' defaults).
const REQUIRED: [&str; 6] = [
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
];

impl BertConfig {
    /// Width of one attention head (`hidden_size / num_attention_heads`).
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Parses a `config.json` text; `origin` names the file in errors. Checks `model_type`
    /// first (so another architecture's config is refused as such), then the required fields,
    /// then [`BertConfig::validate`].
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        let err = |field: &str, message: String| ModelError::Config {
            origin: origin.into(),
            field: field.into(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err("(json)", e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| err("(json)", "not a JSON object".into()))?;
        if let Some(t) = obj.get("model_type") {
            if t.as_str() != Some("bert") {
                return Err(err(
                    "model_type",
                    format!("{t} is not a BERT model (expected \"bert\")"),
                ));
            }
        }
        if let Some(field) = REQUIRED.iter().find(|f| !obj.contains_key(**f)) {
            return Err(err(field, "missing".into()));
        }
        let cfg: Self = serde_json::from_value(value).map_err(|e| err("(json)", e.to_string()))?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Reads and validates a `config.json`; errors name the file and the field.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Checks sizes and the supported variants; `origin` names the config in errors.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let err = |field: &str, message: String| Err(ModelError::config(origin, field, message));
        if self.model_type != "bert" {
            return err(
                "model_type",
                format!(
                    "`{}` is not a BERT model (expected `bert`)",
                    self.model_type
                ),
            );
        }
        ModelError::require_positive(
            origin,
            &[
                ("vocab_size", self.vocab_size),
                ("hidden_size", self.hidden_size),
                ("num_hidden_layers", self.num_hidden_layers),
                ("num_attention_heads", self.num_attention_heads),
                ("intermediate_size", self.intermediate_size),
                ("max_position_embeddings", self.max_position_embeddings),
                ("type_vocab_size", self.type_vocab_size),
            ],
        )?;
        if self.hidden_size % self.num_attention_heads != 0 {
            return err(
                "hidden_size",
                format!(
                    "{} is not divisible by num_attention_heads = {}",
                    self.hidden_size, self.num_attention_heads
                ),
            );
        }
        if self.hidden_act != "gelu" {
            return err(
                "hidden_act",
                format!(
                    "`{}` is not supported (only `gelu`, the exact erf GELU)",
                    self.hidden_act
                ),
            );
        }
        if self.position_embedding_type != "absolute" {
            return err(
                "position_embedding_type",
                format!(
                    "`{}` is not supported (only `absolute`)",
                    self.position_embedding_type
                ),
            );
        }
        if self.is_decoder {
            return err(
                "is_decoder",
                "a decoder BERT is not supported (encoder only)".into(),
            );
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return err(
                "layer_norm_eps",
                format!("{} is not a positive number", self.layer_norm_eps),
            );
        }
        if self.pad_token_id as usize >= self.vocab_size {
            return err(
                "pad_token_id",
                format!(
                    "{} is not below vocab_size = {}",
                    self.pad_token_id, self.vocab_size
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// all-MiniLM-L6-v2's `config.json` (as shipped; unknown fields are ignored).
    const MINILM: &str = r#"{"_name_or_path":"nreimers/MiniLM-L6-H384-uncased",
        "architectures":["BertModel"],"attention_probs_dropout_prob":0.1,
        "gradient_checkpointing":false,"hidden_act":"gelu","hidden_dropout_prob":0.1,
        "hidden_size":384,"initializer_range":0.02,"intermediate_size":1536,
        "layer_norm_eps":1e-12,"max_position_embeddings":512,"model_type":"bert",
        "num_attention_heads":12,"num_hidden_layers":6,"pad_token_id":0,
        "position_embedding_type":"absolute","transformers_version":"4.8.2",
        "type_vocab_size":2,"use_cache":true,"vocab_size":30522}"#;

    fn with(key: &str, value: serde_json::Value) -> String {
        let mut v: serde_json::Value = serde_json::from_str(MINILM).unwrap();
        match value {
            serde_json::Value::Null => {
                v.as_object_mut().unwrap().remove(key);
            }
            value => {
                v[key] = value;
            }
        }
        v.to_string()
    }

    fn error(text: &str) -> String {
        BertConfig::from_json(text, "dir/config.json")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_minilm_config() {
        let c = BertConfig::from_json(MINILM, "x").unwrap();
        assert_eq!(
            (
                c.vocab_size,
                c.hidden_size,
                c.num_hidden_layers,
                c.head_dim()
            ),
            (30522, 384, 6, 32)
        );
        assert_eq!((c.intermediate_size, c.type_vocab_size), (1536, 2));
        assert_eq!(c.layer_norm_eps, 1e-12);
    }

    #[test]
    fn unsupported_variants_are_named() {
        for (key, value, field) in [
            ("model_type", serde_json::json!("llama"), "`model_type`"),
            ("hidden_act", serde_json::json!("relu"), "`hidden_act`"),
            ("hidden_act", serde_json::json!("gelu_new"), "`hidden_act`"),
            (
                "position_embedding_type",
                serde_json::json!("relative_key"),
                "`position_embedding_type`",
            ),
            ("is_decoder", serde_json::json!(true), "`is_decoder`"),
            ("num_attention_heads", serde_json::json!(5), "`hidden_size`"),
            ("hidden_size", serde_json::json!(0), "`hidden_size`"),
            (
                "layer_norm_eps",
                serde_json::json!(-1.0),
                "`layer_norm_eps`",
            ),
            ("pad_token_id", serde_json::json!(40000), "`pad_token_id`"),
            (
                "vocab_size",
                serde_json::Value::Null,
                "`vocab_size`: missing",
            ),
        ] {
            let e = error(&with(key, value));
            assert!(e.starts_with("dir/config.json: invalid"), "{e}");
            assert!(e.contains(field), "{key}: {e}");
        }
    }

    #[test]
    fn a_llama_config_is_refused_by_model_type_not_by_a_missing_field() {
        let e = error(r#"{"model_type":"llama","hidden_size":576,"rms_norm_eps":1e-5}"#);
        assert!(e.contains("`model_type`") && e.contains("llama"), "{e}");
        assert!(error("[1, 2]").contains("not a JSON object"));
        assert!(error("{").contains("`(json)`"));
        // Wrong types are caught by serde and the message names the field.
        assert!(error(&with("hidden_size", serde_json::json!("big"))).contains("string"));
    }
}
