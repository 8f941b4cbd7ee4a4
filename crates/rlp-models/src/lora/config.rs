//! What a LoRA adapter is: its rank `r`, its scale numerator `α` (the update is
//! `ΔW = (α / r)·A·B`), and which of the decoder's linear maps it adapts.

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// One of the seven linear maps of a Llama decoder layer that an adapter can target. The names
/// are Hugging Face's module names (`q_proj` …), which PEFT's `target_modules` uses; the short
/// forms `q`, `k`, `v`, `o`, `gate`, `up`, `down` are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LoraTarget {
    /// `self_attn.q_proj`.
    #[serde(rename = "q_proj", alias = "q")]
    Q,
    /// `self_attn.k_proj`.
    #[serde(rename = "k_proj", alias = "k")]
    K,
    /// `self_attn.v_proj`.
    #[serde(rename = "v_proj", alias = "v")]
    V,
    /// `self_attn.o_proj`.
    #[serde(rename = "o_proj", alias = "o")]
    O,
    /// `mlp.gate_proj`.
    #[serde(rename = "gate_proj", alias = "gate")]
    Gate,
    /// `mlp.up_proj`.
    #[serde(rename = "up_proj", alias = "up")]
    Up,
    /// `mlp.down_proj`.
    #[serde(rename = "down_proj", alias = "down")]
    Down,
}

impl LoraTarget {
    /// All seven, in the order of a decoder layer.
    pub const ALL: [LoraTarget; 7] = [
        Self::Q,
        Self::K,
        Self::V,
        Self::O,
        Self::Gate,
        Self::Up,
        Self::Down,
    ];

    /// The module's name inside a decoder layer (`self_attn.q_proj`, `mlp.up_proj`, …): the same
    /// in burn's module paths and in Hugging Face's tensor names.
    pub fn module_path(self) -> &'static str {
        match self {
            Self::Q => "self_attn.q_proj",
            Self::K => "self_attn.k_proj",
            Self::V => "self_attn.v_proj",
            Self::O => "self_attn.o_proj",
            Self::Gate => "mlp.gate_proj",
            Self::Up => "mlp.up_proj",
            Self::Down => "mlp.down_proj",
        }
    }

    /// PEFT's `target_modules` name (`q_proj`, …).
    pub fn hf_name(self) -> &'static str {
        self.module_path()
            .rsplit('.')
            .next()
            .expect("a module path has a last part")
    }

    /// Parses `q_proj` or `q` (and so on), or explains which names exist.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.hf_name() == name || t.hf_name().strip_suffix("_proj") == Some(name))
            .ok_or_else(|| ModelError::InvalidInput {
                field: "LoRA target".into(),
                message: format!(
                    "unknown module `{name}`; the targets are q, k, v, o, gate, up, down \
                     (or their `_proj` names), or `all-linear`"
                ),
            })
    }

    /// Parses a comma-separated list (`q,v`, `q_proj,v_proj`, or `all-linear` for all seven),
    /// sorted and without repeats.
    pub fn parse_list(list: &str) -> Result<Vec<Self>> {
        if list.trim() == "all-linear" {
            return Ok(Self::ALL.to_vec());
        }
        let mut targets = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Self::parse)
            .collect::<Result<Vec<_>>>()?;
        targets.sort();
        targets.dedup();
        Ok(targets)
    }
}

/// How QLoRA (Dettmers et al. 2023) stores the frozen base of every targeted weight: symmetric
/// integers with one f32 scale per block of 32 consecutive values along the output dimension
/// (burn's block quantization; smaller blocks where 32 does not divide it, one scale per tensor
/// where no power of two does), dequantized on the fly in the forward pass. The adapters stay
/// f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaseQuant {
    /// 8-bit integers (a quarter of f32's size).
    Q8,
    /// 4-bit integers (an eighth of f32's size).
    Q4,
}

impl BaseQuant {
    /// Values per scale block.
    pub const BLOCK: u8 = 32;

    /// burn's quantization scheme for a weight whose last (output) dimension is `d_out`: blocks
    /// of the largest power of two up to [`Self::BLOCK`] that divides it.
    pub fn scheme(self, d_out: usize) -> burn::tensor::quantization::QuantScheme {
        use burn::tensor::quantization::{QuantScheme, QuantValue, ScaleDtype};
        let value = match self {
            Self::Q8 => QuantValue::Q8S,
            Self::Q4 => QuantValue::Q4S,
        };
        let scheme = QuantScheme::default().with_value(value);
        let mut block = Self::BLOCK;
        while block > 1 && d_out % block as usize != 0 {
            block /= 2;
        }
        if block > 1 {
            scheme.per_block([block], ScaleDtype::F32)
        } else {
            scheme.per_tensor(ScaleDtype::F32)
        }
    }
}

/// A LoRA adapter's settings (Hu et al. 2021): every targeted weight `W` becomes
/// `W + (α / r)·A·B` with `A: [d_in, r]` drawn as PEFT draws it and `B: [r, d_out] = 0`, so the
/// adapted model starts as the base model; only `A` and `B` train.
///
/// The defaults (`r = 8`, `α = 16`, all seven linear maps) are the QLoRA paper's choice of
/// targets with PEFT's usual rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LoraConfig {
    /// Rank `r` of the update.
    pub rank: usize,
    /// Scale numerator `α`: the update is multiplied by `α / r`.
    pub alpha: f64,
    /// The linear maps that get an adapter, in every decoder layer.
    pub targets: Vec<LoraTarget>,
    /// Rank-stabilised scaling (Kalajdzievski 2023, PEFT's `use_rslora`): `α / √r` instead of
    /// `α / r`.
    pub rslora: bool,
    /// QLoRA: store the frozen base of the targeted weights quantized (`q8` or `q4`); `None`
    /// keeps it in f32.
    pub quantize: Option<BaseQuant>,
    /// Dropout probability on the adapters' input (PEFT's `lora_dropout`), while training only.
    pub dropout: f64,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 8,
            alpha: 16.0,
            targets: LoraTarget::ALL.to_vec(),
            rslora: false,
            quantize: None,
            dropout: 0.0,
        }
    }
}

impl LoraConfig {
    /// The factor on `A·B`: `α / r`, or `α / √r` with [`Self::rslora`].
    pub fn scale(&self) -> f64 {
        let r = self.rank as f64;
        self.alpha / if self.rslora { r.sqrt() } else { r }
    }

    /// The targets' PEFT names, comma-separated (`q_proj,v_proj`).
    pub fn target_names(&self) -> String {
        self.targets
            .iter()
            .map(|t| t.hf_name())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Checks the settings; `origin` names the config in the error.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |field: &str, message: String| ModelError::Config {
            origin: origin.to_string(),
            field: format!("lora.{field}"),
            message,
        };
        if self.rank == 0 {
            return Err(bad("rank", "must be at least 1".into()));
        }
        if !self.alpha.is_finite() || self.alpha <= 0.0 {
            return Err(bad(
                "alpha",
                format!("must be a positive number, got {}", self.alpha),
            ));
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return Err(bad(
                "dropout",
                format!("must lie in [0, 1), got {}", self.dropout),
            ));
        }
        if self.targets.is_empty() {
            return Err(bad(
                "targets",
                "names no module; use e.g. [\"q_proj\", \"v_proj\"]".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_in_both_spellings_and_all_linear() {
        assert_eq!(
            LoraTarget::parse_list("v,q_proj, q").unwrap(),
            vec![LoraTarget::Q, LoraTarget::V]
        );
        assert_eq!(LoraTarget::parse_list("all-linear").unwrap().len(), 7);
        let err = LoraTarget::parse_list("q,qkv").unwrap_err().to_string();
        assert!(err.contains("`qkv`"), "{err}");
        let c: LoraConfig =
            serde_json::from_str(r#"{"rank": 4, "targets": ["q", "down_proj"]}"#).unwrap();
        assert_eq!(c.targets, vec![LoraTarget::Q, LoraTarget::Down]);
        assert_eq!(c.scale(), 4.0);
    }

    #[test]
    fn validation_names_the_field() {
        let c = LoraConfig {
            rank: 0,
            ..LoraConfig::default()
        };
        let err = c.validate("run.toml").unwrap_err().to_string();
        assert!(err.contains("lora.rank"), "{err}");
        let c = LoraConfig {
            alpha: f64::NAN,
            ..LoraConfig::default()
        };
        assert!(
            c.validate("x")
                .unwrap_err()
                .to_string()
                .contains("lora.alpha")
        );
    }
}
