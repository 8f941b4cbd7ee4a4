//! [`SequenceClassifier`]: a decoder backbone with a `d → C` linear head read at the last real
//! token — HF's `LlamaForSequenceClassification` layout (`score.weight` `[C, d]`, here with a
//! bias) — for judges trained on class labels, such as the gold sentiment scorer of
//! `tweet-sentiment`. A [`crate::RewardModel`] is the `C = 1` case trained on preferences.
//!
//! - [`train`]: the cross-entropy loss, AdamW training and held-out evaluation;
//! - [`reward`]: a classifier as a [`RewardFn`](rlp_core::RewardFn), `r(x) = Σ_c w_c P(c | x)`.

pub mod reward;
pub mod train;

use std::path::Path;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use rlp_core::SeededRng;
use rlp_models::checkpoint::StoreDtype;
use rlp_models::pretrained::TOKENIZER_FILE;
use rlp_models::{CausalLm, TextTokenizer, last_hidden};

use crate::encode::ScoreBatch;
use crate::error::{Result, RewardError};
use crate::model::{load_with_head, save_with_head};

/// The file beside the checkpoint that names the classes, in head order.
pub const LABELS_FILE: &str = "labels.json";

/// `logits(x) = W · h_T(x) + b`: the backbone's final hidden state at the last real token `T`,
/// mapped to one logit per class.
#[derive(Module, Debug)]
pub struct SequenceClassifier {
    /// The decoder (its LM head is unused).
    pub backbone: CausalLm,
    /// `d → C`.
    pub head: Linear,
    /// Class names, in head order.
    #[module(skip)]
    pub labels: Vec<String>,
}

impl SequenceClassifier {
    /// A classifier over `labels` on `policy`'s weights, with a fresh head `N(0, 1/(d+1))` and
    /// zero bias. At least two distinct labels.
    pub fn from_policy(policy: CausalLm, labels: Vec<String>, rng: &mut SeededRng) -> Result<Self> {
        check_labels(&labels)?;
        let d = policy.config.hidden_size;
        let device = policy.device();
        let std = 1.0 / ((d + 1) as f64).sqrt();
        let mut head = rlp_models::init::linear(rng, d, labels.len(), std, &device);
        head.bias = Some(Param::from_tensor(Tensor::zeros([labels.len()], &device)));
        Ok(Self {
            backbone: policy,
            head,
            labels,
        })
    }

    /// The index of class `name`.
    pub fn label_index(&self, name: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == name)
    }

    /// Logits `[b, C]` of a right-padded batch.
    pub fn logits(&self, batch: &ScoreBatch) -> Tensor<2> {
        // Right padding: causal attention keeps real tokens from seeing it, so no mask.
        let hidden = self.backbone.hidden_states(batch.tokens.clone(), None);
        rlp_models::dense::linear(&self.head, last_hidden(hidden, batch.last.clone()))
    }

    /// Class probabilities `[b, C]`.
    pub fn probs(&self, batch: &ScoreBatch) -> Tensor<2> {
        softmax(self.logits(batch), 1)
    }

    /// Writes `config.json`, `model.safetensors` (backbone + `score.*`, f32) and `labels.json`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.save_as(dir, StoreDtype::F32)
    }

    /// [`Self::save`] with the weights stored as `dtype` (f16/bf16: half the size).
    pub fn save_as(&self, dir: impl AsRef<Path>, dtype: StoreDtype) -> Result<()> {
        let dir = dir.as_ref();
        save_with_head(&self.backbone, &self.head, dir, dtype)?;
        let path = dir.join(LABELS_FILE);
        let json = serde_json::to_string_pretty(&self.labels).expect("strings serialise");
        std::fs::write(&path, json + "\n").map_err(|e| RewardError::Checkpoint {
            path,
            message: e.to_string(),
        })
    }

    /// [`Self::save_as`] with `tokenizer` beside it (`tokenizer.json`): a directory that
    /// [`crate::ClassifierReward`] and `rlp classifier eval` read.
    pub fn save_with(
        &self,
        tokenizer: &TextTokenizer,
        dir: impl AsRef<Path>,
        dtype: StoreDtype,
    ) -> Result<()> {
        let dir = dir.as_ref();
        self.save_as(dir, dtype)?;
        Ok(tokenizer.save(dir.join(TOKENIZER_FILE))?)
    }

    /// Loads a directory [`Self::save`] wrote; `labels.json` must name as many classes as the
    /// head has outputs.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let path = dir.join(LABELS_FILE);
        let bad = |message: String| RewardError::Checkpoint {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let labels: Vec<String> =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a list of names: {e}")))?;
        check_labels(&labels).map_err(|e| bad(e.to_string()))?;
        let (backbone, head) = load_with_head(dir, Some(labels.len()), device)?;
        Ok(Self {
            backbone,
            head,
            labels,
        })
    }
}

fn check_labels(labels: &[String]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    if labels.len() < 2 {
        return Err(RewardError::invalid(
            "labels",
            format!("{} classes; a classifier needs at least 2", labels.len()),
        ));
    }
    if let Some(dup) = labels.iter().find(|l| !seen.insert(l.as_str())) {
        return Err(RewardError::invalid(
            "labels",
            format!("`{dup}` appears twice"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::collate_scores;
    use rlp_core::ScratchDir;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::to_f32;
    use rlp_models::LlamaConfig;

    fn labels() -> Vec<String> {
        ["negative", "neutral", "positive"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn save_load_round_trip_keeps_logits_and_labels() {
        let device = test_backend().device().unwrap();
        let mut rng = SeededRng::new(3);
        let lm = CausalLm::init(&LlamaConfig::tiny(40), &mut rng, &device).unwrap();
        let clf = SequenceClassifier::from_policy(lm, labels(), &mut rng).unwrap();
        let batch = collate_scores(&[&[1, 2, 3][..], &[4, 5][..]], 0, &device);
        let before = to_f32(clf.logits(&batch));
        assert_eq!(before.len(), 6);
        let dir = ScratchDir::new("classifier").unwrap();
        clf.save(dir.path()).unwrap();
        let back = SequenceClassifier::load(dir.path(), &device).unwrap();
        assert_eq!(back.labels, labels());
        let after = to_f32(back.logits(&batch));
        for (a, b) in before.iter().zip(&after) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let p = to_f32(back.probs(&batch));
        assert!((p[0] + p[1] + p[2] - 1.0).abs() < 1e-5);
    }

    #[test]
    fn bad_labels_and_mismatched_files_are_errors() {
        let device = test_backend().device().unwrap();
        let mut rng = SeededRng::new(3);
        let lm = || CausalLm::init(&LlamaConfig::tiny(40), &mut SeededRng::new(1), &device);
        let one = SequenceClassifier::from_policy(lm().unwrap(), vec!["a".into()], &mut rng);
        assert!(one.unwrap_err().to_string().contains("at least 2"));
        let dup = vec!["a".into(), "a".into()];
        let dup = SequenceClassifier::from_policy(lm().unwrap(), dup, &mut rng);
        assert!(dup.unwrap_err().to_string().contains("twice"));

        let clf = SequenceClassifier::from_policy(lm().unwrap(), labels(), &mut rng).unwrap();
        let dir = ScratchDir::new("classifier-bad").unwrap();
        clf.save(dir.path()).unwrap();
        std::fs::write(dir.path().join(LABELS_FILE), r#"["a", "b"]"#).unwrap();
        let err = SequenceClassifier::load(dir.path(), &device)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("score.weight") && err.contains("[2, "),
            "{err}"
        );
        // A plain policy checkpoint has no head.
        rlp_models::checkpoint::save(&clf.backbone, dir.path()).unwrap();
        let err = SequenceClassifier::load(dir.path(), &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing"), "{err}");
    }
}
