//! Rollouts: sample a response per prompt with the KV cache, and lay prompt and response out the
//! way PPO's forward passes read them — the prompt left-padded to `P` tokens, then the response
//! right-padded to `R` — so position `P − 1 + t` predicts response token `t`.

use burn::tensor::{Device, Int, Tensor};
use rlp_core::SeededRng;
use rlp_core::logprobs::token_logprobs;
use rlp_core::tensor_io::{floats, ints, to_f32};
use rlp_models::{CausalLm, GenerationConfig, TextTokenizer, generate_with_tokenizer, pad_token};

use crate::error::PolicyError;
use crate::prompts::encode_prompts;

/// One batch of sampled responses in PPO's token layout (host data; [`RolloutTensors`] puts
/// it on a device).
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// The prompts.
    pub prompts: Vec<String>,
    /// The decoded responses (stop token and special tokens removed), what reward functions
    /// score.
    pub responses: Vec<String>,
    /// Whether each response ended on a stop token (false: truncated at `max_new_tokens`).
    pub finished: Vec<bool>,
    /// `[b][P + R]` token ids: padding, prompt, response (with its stop token), padding.
    pub tokens: Vec<Vec<i64>>,
    /// `[b][P + R]`: 1 on prompt and response tokens.
    pub attention: Vec<Vec<f32>>,
    /// `[b][R]`: 1 on response tokens.
    pub response_mask: Vec<Vec<f32>>,
    /// `P`, the padded prompt width.
    pub prompt_len: usize,
}

impl Rollout {
    /// Rows.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// `R`, the padded response width.
    pub fn response_len(&self) -> usize {
        self.response_mask.first().map_or(0, Vec::len)
    }

    /// Response tokens per row.
    pub fn lengths(&self) -> Vec<usize> {
        self.response_mask
            .iter()
            .map(|m| m.iter().filter(|&&v| v > 0.5).count())
            .collect()
    }

    /// A `[b, R]` tensor of per-token values (log-probs, values, advantages) read back to the
    /// host, one `Vec` per row: the layout [`Rollout::gather`] indexes.
    pub fn per_row(&self, values: Tensor<2>) -> Vec<Vec<f32>> {
        to_f32(values)
            .chunks(self.response_len())
            .map(<[f32]>::to_vec)
            .collect()
    }

    /// Rows `idx` of per-row host values (see [`Rollout::per_row`]), `[idx.len(), R]` on
    /// `device`.
    pub fn gather(&self, values: &[Vec<f32>], idx: &[usize], device: &Device) -> Tensor<2> {
        floats(
            idx.iter().flat_map(|&i| values[i].clone()).collect(),
            [idx.len(), self.response_len()],
            device,
        )
    }

    /// The rows `idx`, as tensors on `device`.
    pub fn tensors(&self, idx: &[usize], device: &Device) -> RolloutTensors {
        let (p, r) = (self.prompt_len, self.response_len());
        let b = idx.len();
        RolloutTensors {
            tokens: ints(
                idx.iter().flat_map(|&i| self.tokens[i].clone()).collect(),
                [b, p + r],
                device,
            ),
            attention: floats(
                idx.iter()
                    .flat_map(|&i| self.attention[i].clone())
                    .collect(),
                [b, p + r],
                device,
            ),
            response_mask: floats(
                idx.iter()
                    .flat_map(|&i| self.response_mask[i].clone())
                    .collect(),
                [b, r],
                device,
            ),
            prompt_len: p,
        }
    }
}

/// Rows of a [`Rollout`] on a device.
#[derive(Debug, Clone)]
pub struct RolloutTensors {
    /// `[b, P + R]` token ids.
    pub tokens: Tensor<2, Int>,
    /// `[b, P + R]` attention mask.
    pub attention: Tensor<2>,
    /// `[b, R]` response mask.
    pub response_mask: Tensor<2>,
    /// `P`.
    pub prompt_len: usize,
}

/// Samples one response per prompt from `policy` (a plain-device model: use `.valid()` on a
/// training one) with the KV cache, and lays the batch out. Stop tokens default to the
/// tokenizer's (else the model's) EOS.
pub fn sample_rollout(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    generation: &GenerationConfig,
    rng: &mut SeededRng,
) -> Result<Rollout, PolicyError> {
    if prompts.is_empty() {
        return Err(PolicyError::invalid("prompts", "no prompts to roll out"));
    }
    tokenizer.check_model_vocab(policy.config.vocab_size)?;
    let ids = encode_prompts(tokenizer, prompts)?;
    let pad = pad_token(policy, tokenizer);
    let gens = generate_with_tokenizer(policy, tokenizer, &ids, generation, rng)?;
    let p = ids.iter().map(Vec::len).max().unwrap_or(0);
    let r = gens
        .iter()
        .map(|g| g.tokens.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = Rollout {
        prompts: prompts.to_vec(),
        responses: Vec::with_capacity(gens.len()),
        finished: Vec::with_capacity(gens.len()),
        tokens: Vec::with_capacity(gens.len()),
        attention: Vec::with_capacity(gens.len()),
        response_mask: Vec::with_capacity(gens.len()),
        prompt_len: p,
    };
    for (prompt, g) in ids.iter().zip(gens) {
        let (lead, n, tail) = (p - prompt.len(), g.tokens.len(), r - g.tokens.len());
        let mut toks = vec![pad as i64; lead];
        toks.extend(prompt.iter().map(|&t| t as i64));
        toks.extend(g.tokens.iter().map(|&t| t as i64));
        toks.extend(std::iter::repeat_n(pad as i64, tail));
        let mut att = vec![0.0; lead];
        att.extend(std::iter::repeat_n(1.0, prompt.len() + n));
        att.extend(std::iter::repeat_n(0.0, tail));
        let mut mask = vec![1.0; n];
        mask.extend(std::iter::repeat_n(0.0, tail));
        out.responses.push(g.text(tokenizer)?);
        out.finished.push(g.finished);
        out.tokens.push(toks);
        out.attention.push(att);
        out.response_mask.push(mask);
    }
    Ok(out)
}

/// `log π(y_t | x, y_<t)` of every response token, `[b, R]` (garbage on padding: mask it),
/// from one teacher-forced pass: the logits at positions `P − 1 … P + R − 2` scored against the
/// tokens at `P … P + R − 1`.
pub fn response_logprobs(model: &CausalLm, rows: &RolloutTensors) -> Tensor<2> {
    let [b, l] = rows.tokens.dims();
    let p = rows.prompt_len;
    let logits = model
        .forward(rows.tokens.clone(), Some(rows.attention.clone()))
        .logits;
    let v = logits.dims()[2];
    let predicting = logits.slice([0..b, p - 1..l - 1, 0..v]);
    let targets = rows.tokens.clone().slice([0..b, p..l]);
    token_logprobs(predicting, targets)
}
