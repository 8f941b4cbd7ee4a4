//! [`SpgConfig`]: the settings of RLP-SPG's synthetic preference generation (Lang et al.,
//! NAACL 2024, §3.3 and §4.1).

use crate::error::{Result, SpgError};

/// How many responses to sample per prompt, the confidence threshold, and the seed.
///
/// Sampling temperature is the [`rlp_models::GenerationConfig`]'s (the paper samples at 1.0).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SpgConfig {
    /// Responses sampled per prompt (the paper's n = 10); at least 2, since a pair needs two.
    pub n: usize,
    /// The confidence threshold γ: keep a prompt only when `|largest cluster| / n ≥ γ` (the
    /// paper's γ = 0.5; 0 keeps every prompt that has two clusters, the paper's "no threshold"
    /// ablation). Configs may still say `gamma` (deprecated).
    #[serde(alias = "gamma")]
    pub min_confidence: f64,
    /// Seeds sampling and the draw of each loser.
    pub seed: u64,
}

impl Default for SpgConfig {
    fn default() -> Self {
        Self {
            n: 10,
            min_confidence: 0.5,
            seed: 0,
        }
    }
}

impl SpgConfig {
    /// Checks `n ≥ 2` and `0 ≤ gamma ≤ 1`; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.n < 2 {
            return Err(SpgError::invalid(
                "n",
                format!(
                    "{} responses per prompt cannot form a pair (need at least 2)",
                    self.n
                ),
            ));
        }
        check_gamma(self.min_confidence)
    }
}

/// `0 ≤ gamma ≤ 1` (NaN refused).
pub(crate) fn check_gamma(gamma: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&gamma) {
        return Err(SpgError::invalid(
            "min_confidence",
            format!("{gamma} is not a confidence in [0, 1]"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers_and_bad_values_name_the_field() {
        let c = SpgConfig::default();
        assert_eq!((c.n, c.min_confidence, c.seed), (10, 0.5, 0));
        assert!(c.validate().is_ok());
        for (cfg, field) in [
            (SpgConfig { n: 1, ..c.clone() }, "`n`"),
            (
                SpgConfig {
                    min_confidence: 1.5,
                    ..c.clone()
                },
                "`min_confidence`",
            ),
            (
                SpgConfig {
                    min_confidence: -0.1,
                    ..c.clone()
                },
                "`min_confidence`",
            ),
            (
                SpgConfig {
                    min_confidence: f64::NAN,
                    ..c.clone()
                },
                "`min_confidence`",
            ),
        ] {
            let e = cfg.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
        assert!(
            SpgConfig {
                min_confidence: 0.0,
                ..c.clone()
            }
            .validate()
            .is_ok()
        );
        assert!(
            SpgConfig {
                min_confidence: 1.0,
                n: 2,
                ..c
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn serde_fills_defaults_and_refuses_unknown_fields() {
        let c: SpgConfig = serde_json::from_str(r#"{"gamma": 0.7}"#).unwrap();
        assert_eq!(
            c,
            SpgConfig {
                min_confidence: 0.7,
                ..SpgConfig::default()
            }
        );
        let e = serde_json::from_str::<SpgConfig>(r#"{"gama": 0.7}"#).unwrap_err();
        assert!(e.to_string().contains("gama"), "{e}");
    }
}
