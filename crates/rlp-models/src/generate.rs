//! Batched generation with left padding, a KV cache, temperature / top-k / top-p sampling,
//! stop tokens and per-token log-probs. Deterministic under a seed.

use burn::tensor::Tensor;
use rlp_core::tensor_io::{floats, ints, to_f32};
use rlp_core::{Completion, SeededRng};

use crate::error::{ModelError, Result};
use crate::model::CausalLm;
use crate::sampling::{SamplingParams, log_softmax_at, sample};
use crate::tokenizer::TextTokenizer;

/// Generation settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct GenerationConfig {
    /// At most this many new tokens per row.
    pub max_new_tokens: usize,
    /// Temperature, top-k, top-p.
    pub sampling: SamplingParams,
    /// A row stops after producing any of these (defaults to the model's `eos_token_id`).
    pub stop_tokens: Vec<u32>,
    /// Use the KV cache (true) or recompute the whole prefix each step (false; for tests).
    pub use_cache: bool,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 64,
            sampling: SamplingParams::default(),
            stop_tokens: Vec::new(),
            use_cache: true,
        }
    }
}

impl GenerationConfig {
    /// Sampling at `temperature` with no top-k or top-p truncation, at most `max_new_tokens`
    /// new tokens per row, the model's default stop tokens and the KV cache.
    pub fn sampling(max_new_tokens: usize, temperature: f32) -> Self {
        Self {
            max_new_tokens,
            sampling: SamplingParams {
                temperature,
                ..Default::default()
            },
            ..Default::default()
        }
    }
}

/// One generated continuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// New token ids, including the stop token if one was produced.
    pub tokens: Vec<u32>,
    /// `log π(y_t | prefix)` of each new token under the model's unmodified distribution
    /// (temperature 1, no truncation), as a fresh forward pass computes it.
    pub logprobs: Vec<f32>,
    /// Whether the row ended on a stop token.
    pub finished: bool,
}

impl Generation {
    /// The response without the stop token that ended it (every token when the row was cut at
    /// `max_new_tokens`).
    pub fn body(&self) -> &[u32] {
        if self.finished {
            &self.tokens[..self.tokens.len() - 1]
        } else {
            &self.tokens
        }
    }

    /// The response text: [`Self::body`] decoded with special tokens skipped.
    pub fn text(&self, tokenizer: &TextTokenizer) -> Result<String> {
        tokenizer.decode(self.body(), true)
    }
}

/// Generates a continuation of each prompt (token ids, at least one each).
pub fn generate(
    model: &CausalLm,
    prompts: &[Vec<u32>],
    pad_id: u32,
    config: &GenerationConfig,
    rng: &mut SeededRng,
) -> Result<Vec<Generation>> {
    config.sampling.validate()?;
    let b = prompts.len();
    if b == 0 {
        return Ok(Vec::new());
    }
    if let Some(i) = prompts.iter().position(|p| p.is_empty()) {
        return Err(ModelError::input("prompts", format!("prompt {i} is empty")));
    }
    let vocab = model.config.vocab_size;
    if let Some(bad) = prompts.iter().flatten().find(|&&t| t as usize >= vocab) {
        return Err(ModelError::input(
            "prompts",
            format!("token id {bad} ≥ vocab_size {vocab}"),
        ));
    }
    let p_max = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let max_pos = model.config.max_position_embeddings;
    if p_max + config.max_new_tokens > max_pos {
        return Err(ModelError::ContextOverflow {
            len: p_max,
            new: config.max_new_tokens,
            max: max_pos,
        });
    }
    let stops: Vec<u32> = if config.stop_tokens.is_empty() {
        model.config.eos_token_id.into_iter().collect()
    } else {
        config.stop_tokens.clone()
    };
    let device = model.device();

    // Left-padded prompt block.
    let mut seq: Vec<Vec<i64>> = Vec::with_capacity(b);
    let mut mask: Vec<Vec<f32>> = Vec::with_capacity(b);
    for p in prompts {
        let pad = p_max - p.len();
        seq.push(
            std::iter::repeat_n(pad_id as i64, pad)
                .chain(p.iter().map(|&t| t as i64))
                .collect(),
        );
        mask.push(
            std::iter::repeat_n(0.0, pad)
                .chain(std::iter::repeat_n(1.0, p.len()))
                .collect(),
        );
    }
    let mut out: Vec<Generation> = (0..b)
        .map(|_| Generation {
            tokens: vec![],
            logprobs: vec![],
            finished: false,
        })
        .collect();
    if config.max_new_tokens == 0 {
        return Ok(out);
    }

    let flat = |rows: &[Vec<f32>]| rows.iter().flatten().copied().collect::<Vec<f32>>();
    let mut cache = model.new_cache();
    let mut logits = if config.use_cache {
        let positions: Vec<f32> = mask
            .iter()
            .flat_map(|row| {
                let mut c = 0.0f32;
                row.iter().map(move |&m| {
                    let p = (c - 1.0 + m).max(0.0);
                    c += m;
                    p
                })
            })
            .collect();
        let toks = ints(seq.iter().flatten().copied().collect(), [b, p_max], &device);
        to_f32(model.forward_cached_last(
            toks,
            floats(positions, [b, p_max], &device),
            floats(flat(&mask), [b, p_max], &device),
            &mut cache,
        ))
    } else {
        full_last_logits(model, &seq, &mask, &device)
    };

    for step in 0..config.max_new_tokens {
        let mut next = vec![pad_id as i64; b];
        for (i, g) in out.iter_mut().enumerate() {
            if g.finished {
                continue;
            }
            let row = &logits[i * vocab..(i + 1) * vocab];
            let tok = sample(row, &config.sampling, rng);
            g.tokens.push(tok as u32);
            g.logprobs.push(log_softmax_at(row, tok));
            g.finished = stops.contains(&(tok as u32));
            next[i] = tok as i64;
        }
        if out.iter().all(|g| g.finished) || step + 1 == config.max_new_tokens {
            break;
        }
        // Append the new column: real for rows that just produced a token, padding otherwise.
        for (i, g) in out.iter().enumerate() {
            let active = g.tokens.len() == step + 1;
            seq[i].push(next[i]);
            mask[i].push(if active { 1.0 } else { 0.0 });
        }
        let t = seq[0].len();
        logits = if config.use_cache {
            let positions: Vec<f32> = mask
                .iter()
                .map(|row| (row.iter().sum::<f32>() - 1.0).max(0.0))
                .collect();
            to_f32(model.forward_cached_last(
                ints(next, [b, 1], &device),
                floats(positions, [b, 1], &device),
                floats(flat(&mask), [b, t], &device),
                &mut cache,
            ))
        } else {
            full_last_logits(model, &seq, &mask, &device)
        };
    }
    Ok(out)
}

/// Host copy of the logits at the last position, `[b * vocab]`.
fn last_logits(logits: Tensor<3>) -> Vec<f32> {
    let [b, t, v] = logits.dims();
    to_f32(logits.slice([0..b, t - 1..t, 0..v]).reshape([b, v]))
}

fn full_last_logits(
    model: &CausalLm,
    seq: &[Vec<i64>],
    mask: &[Vec<f32>],
    device: &burn::tensor::Device,
) -> Vec<f32> {
    let (b, t) = (seq.len(), seq[0].len());
    let toks = ints(seq.iter().flatten().copied().collect(), [b, t], device);
    let m = floats(mask.iter().flatten().copied().collect(), [b, t], device);
    last_logits(model.forward(toks, Some(m)).logits)
}

/// The padding id text-level generation and scoring use: the tokenizer's, else the model
/// config's, else 0.
pub fn pad_token(model: &CausalLm, tokenizer: &TextTokenizer) -> u32 {
    tokenizer.pad_id.or(model.config.pad_token_id).unwrap_or(0)
}

/// `config`, with its stop tokens defaulted (when empty) to the tokenizer's EOS, else the
/// model config's.
pub fn with_default_stops(
    config: &GenerationConfig,
    model: &CausalLm,
    tokenizer: &TextTokenizer,
) -> GenerationConfig {
    let mut cfg = config.clone();
    if cfg.stop_tokens.is_empty() {
        cfg.stop_tokens = tokenizer
            .eos_id
            .or(model.config.eos_token_id)
            .into_iter()
            .collect();
    }
    cfg
}

/// [`generate`] with `tokenizer`'s padding id ([`pad_token`]) and, where `config` names no stop
/// tokens, its default ones ([`with_default_stops`]): prompts as token ids, one
/// [`Generation`] per prompt.
pub fn generate_with_tokenizer(
    model: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    rng: &mut SeededRng,
) -> Result<Vec<Generation>> {
    generate(
        model,
        prompts,
        pad_token(model, tokenizer),
        &with_default_stops(config, model, tokenizer),
        rng,
    )
}

/// Text in, [`Completion`]s out: encodes each prompt, generates, decodes the new tokens (stop
/// token and other special tokens removed).
pub fn generate_text(
    model: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    config: &GenerationConfig,
    rng: &mut SeededRng,
) -> Result<Vec<Completion>> {
    tokenizer.check_model_vocab(model.config.vocab_size)?;
    let ids = prompts
        .iter()
        .map(|p| tokenizer.encode(p))
        .collect::<Result<Vec<_>>>()?;
    let gens = generate_with_tokenizer(model, tokenizer, &ids, config, rng)?;
    prompts
        .iter()
        .zip(gens)
        .map(|(p, g)| {
            Ok(Completion {
                prompt: p.clone(),
                text: g.text(tokenizer)?,
                tokens: g.tokens,
                logprobs: g.logprobs,
                finished: g.finished,
            })
        })
        .collect()
}
