//! [`RewardModel`]: a decoder backbone with a scalar head read at the last real token
//! (`docs/algorithms.md`, "Reward model"), initialised from a policy checkpoint, saved as
//! an HF-named checkpoint directory: the backbone's tensors plus `score.weight` `[1, d]` and
//! `score.bias` `[1]` (the names of HF's sequence-classification head), beside `config.json`.

use std::path::Path;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rlp_core::SeededRng;
use rlp_core::tensor_io::to_f32;
use rlp_models::checkpoint::{
    self, CONFIG_FILE, StoreDtype, WEIGHTS_FILE, host_tensors, read_dir_weights,
    write_safetensors_as,
};
use rlp_models::pretrained::TOKENIZER_FILE;
use rlp_models::{CausalLm, LlamaConfig, ScoreHead, TextTokenizer};

use crate::encode::ScoreBatch;
use crate::error::{Result, RewardError};

/// Name of the head's weight in checkpoints.
pub const SCORE_WEIGHT: &str = "score.weight";
/// Name of the head's bias in checkpoints.
pub const SCORE_BIAS: &str = "score.bias";

/// Which parameters training may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trainable {
    /// Everything (a full fine-tune).
    #[default]
    All,
    /// The score head and the top `n` decoder layers with the final norm; embeddings and the
    /// layers below are frozen (`Top(0)`: the head only, a linear probe on frozen features).
    Top(usize),
}

/// `r(x, y) = w · h_T(x, y) + b`: the backbone's final hidden state at the last real token `T`,
/// mapped to a scalar.
#[derive(Module, Debug)]
pub struct RewardModel {
    /// The decoder (its LM head is unused).
    pub backbone: CausalLm,
    /// The scalar head.
    pub head: ScoreHead,
}

impl RewardModel {
    /// A reward model on `policy`'s weights with a fresh head `N(0, 1/(d+1))` (the scale TRL's
    /// value heads use) and zero bias.
    pub fn from_policy(policy: CausalLm, rng: &mut SeededRng) -> Self {
        let d = policy.config.hidden_size;
        let device = policy.device();
        let std = 1.0 / ((d + 1) as f64).sqrt();
        Self {
            head: ScoreHead::init(d, std, rng, &device),
            backbone: policy,
        }
    }

    /// Scores `[b]` of a right-padded batch.
    pub fn score(&self, batch: &ScoreBatch) -> Tensor<1> {
        self.score_and_hidden(batch).0
    }

    /// Scores `[b]` and the representation `h [b, d]` they are read from: the backbone's
    /// final-layer hidden state at each row's last real token (what RLP-UML's encoder reads).
    /// One forward pass; gradients reach the backbone through both.
    pub fn score_and_hidden(&self, batch: &ScoreBatch) -> (Tensor<1>, Tensor<2>) {
        // Right padding: causal attention keeps real tokens from seeing it, so no mask.
        let hidden = self.backbone.hidden_states(batch.tokens.clone(), None);
        let h = rlp_models::heads::last_hidden(hidden, batch.last.clone());
        (self.head.score(h.clone()), h)
    }

    /// The same model scoring `scale · r(x, y) + shift`: the head's weight and bias are mapped,
    /// the backbone is untouched. With `scale = 1/σ`, `shift = −μ/σ` for the mean `μ` and
    /// standard deviation `σ` of the scores of reference samples, the reference samples score
    /// mean 0 and variance 1 (Ziegler et al. 2019, "Fine-Tuning Language Models from Human
    /// Preferences", §2: the reward model is normalised this way before RL, so one KL
    /// coefficient means the same for every reward model).
    pub fn affine(mut self, scale: f32, shift: f32) -> Self {
        let proj = &mut self.head.proj;
        proj.weight = proj.weight.clone().map(|w| w.mul_scalar(scale));
        proj.bias = proj
            .bias
            .take()
            .map(|b| b.map(|b| b.mul_scalar(scale).add_scalar(shift)));
        self
    }

    /// The same model with only the parameters `trainable` names left trainable.
    pub fn with_trainable(mut self, trainable: Trainable) -> Result<Self> {
        let Trainable::Top(n) = trainable else {
            return Ok(self);
        };
        let layers = self.backbone.layers.len();
        if n > layers {
            return Err(RewardError::invalid(
                "trainable",
                format!("top {n} layers of a {layers}-layer backbone"),
            ));
        }
        let b = self.backbone;
        let mut frozen_layers = b.layers;
        let top = frozen_layers.split_off(layers - n);
        let mut all: Vec<_> = frozen_layers.into_iter().map(|l| l.no_grad()).collect();
        all.extend(top);
        let norm = if n == 0 { b.norm.no_grad() } else { b.norm };
        self.backbone = CausalLm {
            embed_tokens: b.embed_tokens.no_grad(),
            layers: all,
            norm,
            lm_head: b.lm_head.map(|h| h.no_grad()),
            config: b.config,
        };
        Ok(self)
    }

    /// Writes `config.json` (the backbone's) and `model.safetensors` (backbone + head) into
    /// `dir`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        save_with_head(
            &self.backbone,
            &self.head.proj,
            dir.as_ref(),
            StoreDtype::F32,
        )
    }

    /// [`Self::save`] with `tokenizer` beside it (`tokenizer.json`): a directory that
    /// [`crate::LearnedReward::load`] and `rlp reward eval` read.
    pub fn save_with(&self, tokenizer: &TextTokenizer, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        self.save(dir)?;
        Ok(tokenizer.save(dir.join(TOKENIZER_FILE))?)
    }

    /// Loads a directory [`Self::save`] wrote. A policy checkpoint without `score.*` is an error
    /// saying so (start from it with [`Self::from_policy`] instead).
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let (backbone, proj) = load_with_head(dir.as_ref(), Some(1), device)?;
        Ok(Self {
            backbone,
            head: ScoreHead { proj },
        })
    }
}

/// Writes `config.json` and `model.safetensors` holding `backbone`'s tensors plus `head` as
/// `score.weight` `[n, d]` (HF's `[out, in]` layout) and `score.bias` `[n]`, stored as `dtype`.
pub(crate) fn save_with_head(
    backbone: &CausalLm,
    head: &Linear,
    dir: &Path,
    dtype: StoreDtype,
) -> Result<()> {
    checkpoint::save(backbone, dir)?;
    let mut tensors = host_tensors(backbone);
    let [d, n] = head.weight.val().dims();
    let w = to_f32(head.weight.val().transpose()); // burn's [in, out] → HF's [out, in]
    tensors.push((SCORE_WEIGHT.into(), (vec![n, d], w)));
    let bias = match &head.bias {
        Some(b) => to_f32(b.val()),
        None => vec![0.0; n],
    };
    tensors.push((SCORE_BIAS.into(), (vec![n], bias)));
    write_safetensors_as(&tensors, &dir.join(WEIGHTS_FILE), dtype)?;
    Ok(())
}

/// Loads a directory [`save_with_head`] wrote: the backbone and the `score` head, whose number
/// of outputs must be `outputs` when given. Missing or mis-shaped `score.*` tensors are errors
/// naming the file and tensor.
pub(crate) fn load_with_head(
    dir: &Path,
    outputs: Option<usize>,
    device: &Device,
) -> Result<(CausalLm, Linear)> {
    let config = LlamaConfig::load(dir.join(CONFIG_FILE))?;
    let (mut tensors, origin) = read_dir_weights(dir)?;
    let d = config.hidden_size;
    let bad = |message: String| RewardError::Checkpoint {
        path: origin.clone(),
        message,
    };
    let (w_shape, w) = tensors.remove(SCORE_WEIGHT).ok_or_else(|| {
        bad(format!(
            "tensor `{SCORE_WEIGHT}`: missing (a policy checkpoint, not a scoring model?)"
        ))
    })?;
    let n = match w_shape.as_slice() {
        [n, dd] if *dd == d && outputs.is_none_or(|o| o == *n) && *n > 0 => *n,
        _ => {
            let want = outputs.map_or("n".to_string(), |o| o.to_string());
            return Err(bad(format!(
                "tensor `{SCORE_WEIGHT}`: shape {w_shape:?}, expected [{want}, {d}]"
            )));
        }
    };
    let b = match tensors.remove(SCORE_BIAS) {
        Some((s, v)) if s == [n] => v,
        Some((s, _)) => {
            return Err(bad(format!(
                "tensor `{SCORE_BIAS}`: shape {s:?}, expected [{n}]"
            )));
        }
        None => return Err(bad(format!("tensor `{SCORE_BIAS}`: missing"))),
    };
    let backbone = checkpoint::from_tensors(&config, tensors, &origin, device)?;
    let weight: Tensor<2> = Tensor::from_data(TensorData::new(w, [n, d]), device);
    let mut proj = rlp_models::init::linear_from(weight.transpose());
    proj.bias = Some(Param::from_tensor(Tensor::from_data(
        TensorData::new(b, [n]),
        device,
    )));
    Ok((backbone, proj))
}
