//! A minibatch of pool samples in the layout Quark's two forward passes read (Lu et al., NeurIPS
//! 2022): the policy sees `r_k, x, y`, the frozen initial model π₀ sees `x, y`. Each prompt is
//! left-padded so that all responses start in the same column, then each response is
//! right-padded to `R`:
//!
//! - policy row: `pad… r_k x_1 … x_p y_1 … y_m pad…`, width `1 + P + R`; the logits at columns
//!   `P … P+R−1` predict `y_1 … y_R`;
//! - π₀ row: `pad… x_1 … x_p y_1 … y_m pad…`, width `P + R`; the logits at columns
//!   `P−1 … P+R−2` predict the same tokens.
//!
//! Both passes get the attention mask (positions count real tokens only, so the reward token
//! sits at position 0 and shifts the prompt by one), and the two `[b, R, ·]` logit blocks line
//! up token for token.

use burn::tensor::{Device, Int, Tensor};
use rlp_core::tensor_io::{floats, ints};
use rlp_models::CausalLm;

use crate::error::{PolicyError, Result};

/// One row of a Quark minibatch (Lu et al., NeurIPS 2022): the prompt `x`, the response `y` and
/// the id of its quantile's reward token `r_k`.
#[derive(Debug, Clone, Copy)]
pub struct BatchRow<'a> {
    /// `x` (at least one id).
    pub prompt: &'a [u32],
    /// `y` (at least one id).
    pub response: &'a [u32],
    /// `r_k`, the sample's quantile token.
    pub reward_token: u32,
}

/// A Quark minibatch (Lu et al., NeurIPS 2022) as host data: the policy's `r_k, x, y` rows and
/// π₀'s `x, y` rows, aligned on the response (module docs for the layout).
#[derive(Debug, Clone, PartialEq)]
pub struct QuarkBatch {
    /// Rows.
    pub rows: usize,
    /// `P`, the padded prompt width (without the reward token).
    pub prompt_len: usize,
    /// `R`, the padded response width.
    pub response_len: usize,
    /// Response tokens in the batch (the loss's denominator).
    pub tokens: usize,
    policy_tokens: Vec<i64>,
    policy_attention: Vec<f32>,
    ref_tokens: Vec<i64>,
    ref_attention: Vec<f32>,
    targets: Vec<i64>,
    mask: Vec<f32>,
}

impl QuarkBatch {
    /// Lays out `rows` with `pad` as the padding id. Errors: no rows, or a row with an empty
    /// prompt or response (naming its index).
    pub fn new(rows: &[BatchRow<'_>], pad: u32) -> Result<Self> {
        if rows.is_empty() {
            return Err(PolicyError::invalid("batch", "no rows"));
        }
        if let Some(i) = rows
            .iter()
            .position(|r| r.prompt.is_empty() || r.response.is_empty())
        {
            return Err(PolicyError::invalid(
                "batch",
                format!("row {i} has an empty prompt or response"),
            ));
        }
        let p = rows.iter().map(|r| r.prompt.len()).max().unwrap_or(0);
        let r = rows.iter().map(|r| r.response.len()).max().unwrap_or(0);
        let pad = pad as i64;
        let mut out = Self {
            rows: rows.len(),
            prompt_len: p,
            response_len: r,
            tokens: 0,
            policy_tokens: Vec::with_capacity(rows.len() * (1 + p + r)),
            policy_attention: Vec::with_capacity(rows.len() * (1 + p + r)),
            ref_tokens: Vec::with_capacity(rows.len() * (p + r)),
            ref_attention: Vec::with_capacity(rows.len() * (p + r)),
            targets: Vec::with_capacity(rows.len() * r),
            mask: Vec::with_capacity(rows.len() * r),
        };
        for row in rows {
            let (lead, m) = (p - row.prompt.len(), row.response.len());
            let ids = |xs: &[u32]| xs.iter().map(|&t| t as i64).collect::<Vec<_>>();
            let body: Vec<i64> = ids(row.prompt)
                .into_iter()
                .chain(ids(row.response))
                .collect();
            let tail = r - m;
            out.policy_tokens.extend(std::iter::repeat_n(pad, lead));
            out.policy_tokens.push(row.reward_token as i64);
            out.policy_tokens.extend(&body);
            out.policy_tokens.extend(std::iter::repeat_n(pad, tail));
            out.policy_attention.extend(std::iter::repeat_n(0.0, lead));
            out.policy_attention
                .extend(std::iter::repeat_n(1.0, 1 + body.len()));
            out.policy_attention.extend(std::iter::repeat_n(0.0, tail));
            out.ref_tokens.extend(std::iter::repeat_n(pad, lead));
            out.ref_tokens.extend(&body);
            out.ref_tokens.extend(std::iter::repeat_n(pad, tail));
            out.ref_attention.extend(std::iter::repeat_n(0.0, lead));
            out.ref_attention
                .extend(std::iter::repeat_n(1.0, body.len()));
            out.ref_attention.extend(std::iter::repeat_n(0.0, tail));
            out.targets.extend(ids(row.response));
            out.targets.extend(std::iter::repeat_n(pad, tail));
            out.mask.extend(std::iter::repeat_n(1.0, m));
            out.mask.extend(std::iter::repeat_n(0.0, tail));
            out.tokens += m;
        }
        Ok(out)
    }

    /// The policy's logits `[b, R, V+K]` at the response positions (conditioned on `r_k`).
    pub fn policy_logits(&self, policy: &CausalLm) -> Tensor<3> {
        let (b, p, r) = (self.rows, self.prompt_len, self.response_len);
        let device = policy.device();
        let tokens = ints(self.policy_tokens.clone(), [b, 1 + p + r], &device);
        let attention = floats(self.policy_attention.clone(), [b, 1 + p + r], &device);
        let logits = policy.forward(tokens, Some(attention)).logits;
        let v = logits.dims()[2];
        logits.slice([0..b, p..p + r, 0..v])
    }

    /// π₀'s logits `[b, R, V]` at the response positions (no reward token).
    pub fn reference_logits(&self, reference: &CausalLm) -> Tensor<3> {
        let (b, p, r) = (self.rows, self.prompt_len, self.response_len);
        let device = reference.device();
        let tokens = ints(self.ref_tokens.clone(), [b, p + r], &device);
        let attention = floats(self.ref_attention.clone(), [b, p + r], &device);
        let logits = reference.forward(tokens, Some(attention)).logits;
        let v = logits.dims()[2];
        logits.slice([0..b, p - 1..p - 1 + r, 0..v])
    }

    /// The response tokens `[b, R]` (padding past each response's end).
    pub fn targets(&self, device: &Device) -> Tensor<2, Int> {
        ints(self.targets.clone(), [self.rows, self.response_len], device)
    }

    /// The response mask `[b, R]`: 1 on response tokens, 0 on padding.
    pub fn mask(&self, device: &Device) -> Tensor<2> {
        floats(self.mask.clone(), [self.rows, self.response_len], device)
    }
}
