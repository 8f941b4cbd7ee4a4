//! Response-masked next-token training: the SFT objective
//! `L = -(1/|R|) Σ_{t ∈ R} log π(y_t | y_<t)` over response positions `R` only, and an AdamW
//! training step around it.

use burn::tensor::{Device, Int, Tensor};
use rlp_core::logprobs::token_logprobs;
use rlp_core::masked::masked_mean;
use rlp_core::tensor_io::{floats, ints};

use crate::optim::{AdamW, OptimConfig, require_autodiff};
use rlp_models::CausalLm;
use rlp_models::{ModelError, Result};

/// A right-padded training batch: inputs, next-token targets and the response mask.
#[derive(Debug, Clone)]
pub struct SftBatch {
    /// Input ids `[b, T]` (the sequence without its last token).
    pub inputs: Tensor<2, Int>,
    /// Target ids `[b, T]` (the sequence shifted left by one).
    pub targets: Tensor<2, Int>,
    /// 1 where the target is a response token, else 0 (prompt and padding).
    pub loss_mask: Tensor<2>,
    /// Number of response tokens in the batch.
    pub response_tokens: usize,
    /// Number of input positions in the batch (`b·T`).
    pub positions: usize,
}

/// Builds a right-padded batch from `(prompt_ids, response_ids)` pairs. Nothing is truncated:
/// a sequence longer than `max_len` is a [`ModelError::ContextOverflow`], and an empty response
/// is an error naming the example's index.
pub fn collate_sft(
    examples: &[(Vec<u32>, Vec<u32>)],
    pad_id: u32,
    max_len: usize,
    device: &Device,
) -> Result<SftBatch> {
    if examples.is_empty() {
        return Err(ModelError::input("examples", "empty batch"));
    }
    for (i, (p, r)) in examples.iter().enumerate() {
        if r.is_empty() {
            return Err(ModelError::input(
                "examples",
                format!("example {i} has an empty response"),
            ));
        }
        if p.len() + r.len() > max_len {
            return Err(ModelError::ContextOverflow {
                len: p.len() + r.len(),
                new: 0,
                max: max_len,
            });
        }
    }
    let t = examples
        .iter()
        .map(|(p, r)| p.len() + r.len())
        .max()
        .unwrap_or(1)
        - 1;
    let b = examples.len();
    let mut inputs = vec![pad_id as i64; b * t];
    let mut targets = vec![pad_id as i64; b * t];
    let mut mask = vec![0.0f32; b * t];
    for (i, (p, r)) in examples.iter().enumerate() {
        let full: Vec<u32> = p.iter().chain(r).copied().collect();
        for j in 0..full.len() - 1 {
            inputs[i * t + j] = full[j] as i64;
            targets[i * t + j] = full[j + 1] as i64;
            if j + 1 >= p.len() {
                mask[i * t + j] = 1.0;
            }
        }
    }
    let response_tokens = examples
        .iter()
        .map(|(p, r)| response_targets(p.len(), r.len()))
        .sum();
    Ok(SftBatch {
        inputs: ints(inputs, [b, t], device),
        targets: ints(targets, [b, t], device),
        loss_mask: floats(mask, [b, t], device),
        response_tokens,
        positions: b * t,
    })
}

/// The number of response tokens [`collate_sft`] trains on for a prompt of `prompt` tokens and
/// a response of `response`: every response token is a target, except the first when there is
/// no prompt to predict it from.
pub fn response_targets(prompt: usize, response: usize) -> usize {
    prompt + response - prompt.max(1)
}

/// `log π(target_t | inputs_≤t)` at every position of a batch, `[b, T]` (mask it with
/// `batch.loss_mask`): the one teacher-forced pass SFT and DPO share.
pub fn target_logprobs(model: &CausalLm, batch: &SftBatch) -> Tensor<2> {
    // Right padding only: causal attention keeps real tokens from seeing it, so no mask.
    let logits = model.forward(batch.inputs.clone(), None).logits;
    token_logprobs(logits, batch.targets.clone())
}

/// The response-masked mean negative log-likelihood (one-element tensor).
pub fn response_nll(model: &CausalLm, batch: &SftBatch) -> Tensor<1> {
    masked_mean(target_logprobs(model, batch).neg(), batch.loss_mask.clone())
}

/// What one step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The loss before the update.
    pub loss: f64,
    /// Response tokens the loss was averaged over.
    pub tokens: usize,
}

/// An AdamW trainer for the response-masked NLL, one batch at a time (the building block; whole
/// resumable SFT runs are `rlp_train::sft_trainer`). The model must live on an autodiff device.
pub struct NllTrainer {
    /// The model being trained.
    pub model: CausalLm,
    /// The optimiser (settings in `optim.config`, steps taken in `optim.step`).
    pub optim: AdamW,
}

impl NllTrainer {
    /// Wraps a model (on an autodiff device) with a fresh AdamW.
    pub fn new(model: CausalLm, config: OptimConfig) -> Result<Self> {
        require_autodiff(&model, "model")?;
        Ok(Self {
            model,
            optim: AdamW::new(config),
        })
    }

    /// One update on `batch` at learning rate `lr` (pass `self.optim.config.lr` for a constant
    /// rate). A non-finite loss stops with an error and leaves the model unchanged.
    pub fn step(&mut self, batch: &SftBatch, lr: f64) -> Result<StepStats> {
        let loss = response_nll(&self.model, batch);
        let (model, loss) = self.optim.minimize(self.model.clone(), loss, lr)?;
        self.model = model;
        Ok(StepStats {
            loss,
            tokens: batch.response_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{scalar, to_f32, to_i64};

    #[test]
    fn collate_masks_only_response_targets() {
        let d = test_backend().device().unwrap();
        let b = collate_sft(&[(vec![5, 6], vec![7, 8]), (vec![5], vec![9])], 0, 16, &d).unwrap();
        // seq 0: 5 6 7 8 → inputs 5 6 7, targets 6 7 8, mask 0 1 1
        // seq 1: 5 9     → inputs 5 0 0, targets 9 0 0, mask 1 0 0
        assert_eq!(to_i64(b.inputs), vec![5, 6, 7, 5, 0, 0]);
        assert_eq!(to_i64(b.targets), vec![6, 7, 8, 9, 0, 0]);
        assert_eq!(to_f32(b.loss_mask), vec![0., 1., 1., 1., 0., 0.]);
        assert_eq!(b.response_tokens, 3);
        assert!(collate_sft(&[(vec![1; 10], vec![2; 10])], 0, 16, &d).is_err());
        assert!(collate_sft(&[(vec![1], vec![])], 0, 16, &d).is_err());
    }

    // Golden: a uniform model (all logits equal) has NLL = ln V on every target.
    #[test]
    fn uniform_model_has_log_vocab_loss() {
        let d = test_backend().device().unwrap();
        let cfg = rlp_models::LlamaConfig::tiny(16);
        let mut m = CausalLm::init(&cfg, &mut rlp_core::SeededRng::new(0), &d).unwrap();
        let w = m.lm_head.as_ref().unwrap().weight.val().zeros_like();
        m.lm_head.as_mut().unwrap().weight = burn::module::Param::from_tensor(w);
        let b = collate_sft(&[(vec![1, 2, 3], vec![4, 5])], 0, 16, &d).unwrap();
        assert!((scalar(response_nll(&m, &b)) - (16f64).ln()).abs() < 1e-5);
    }
}
