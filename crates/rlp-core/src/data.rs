//! The records that flow between trainers, evaluators and files.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// One supervised example: a prompt and the response to imitate (SFT's input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptResponse {
    /// The prompt text.
    pub prompt: String,
    /// The target response text.
    pub response: String,
}

/// A sampled completion with what the sampler knew about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The prompt it continues.
    pub prompt: String,
    /// The decoded response text (stop token excluded).
    pub text: String,
    /// The response token ids (including the stop token when one was produced).
    pub tokens: Vec<u32>,
    /// `log π(y_t | s_t)` under the sampling policy, one per response token, from the
    /// unmodified distribution (before temperature / top-k / top-p).
    pub logprobs: Vec<f32>,
    /// Whether generation ended on a stop token (false: truncated at the length limit).
    pub finished: bool,
}

/// A human or synthetic preference: `chosen ≻ rejected` for `prompt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferencePair {
    /// The shared prompt (absent in files like HH-RLHF's, whose `chosen` and `rejected` are
    /// whole dialogues: then it is empty).
    #[serde(default)]
    pub prompt: String,
    /// The preferred response `y_w`.
    pub chosen: String,
    /// The dispreferred response `y_l`.
    pub rejected: String,
    /// How much more `chosen` is preferred, for margin losses (`None`: no margin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f32>,
}

impl PreferencePair {
    /// Rejects pairs no reward model can learn from: empty texts or identical responses.
    pub fn validate(&self) -> Result<()> {
        if self.chosen.trim().is_empty() || self.rejected.trim().is_empty() {
            return Err(CoreError::InvalidValue {
                field: "chosen/rejected".into(),
                message: "empty response".into(),
            });
        }
        if self.chosen == self.rejected {
            return Err(CoreError::InvalidValue {
                field: "chosen/rejected".into(),
                message: "chosen and rejected are identical".into(),
            });
        }
        Ok(())
    }
}

/// A text with a class label (a classifier's training example), e.g. a human-labelled tweet
/// `{"text": "...", "label": "positive"}`. Other fields in a JSONL line are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledText {
    /// The text.
    pub text: String,
    /// Its class name.
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pairs_are_rejected() {
        let p = |c: &str, r: &str| PreferencePair {
            margin: None,
            prompt: "q".into(),
            chosen: c.into(),
            rejected: r.into(),
        };
        assert!(p("a", "b").validate().is_ok());
        assert!(
            p("a", "a")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("identical")
        );
        assert!(
            p(" ", "b")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }
}
