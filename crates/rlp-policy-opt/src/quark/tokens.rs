//! Quark's reward tokens (Lu et al., NeurIPS 2022): one new vocabulary entry `r_k` per reward
//! quantile, `<|quark_0|>` (the worst quantile) … `<|quark_{K−1}|>` (the best), and where the
//! conditioning puts them: as the **first token of the prompt**, before everything else the
//! policy sees (BOS, chat template or plain text), as Quark's implementation prepends the
//! control code to the query ids.

/// The string of Quark's reward token `r_k` (Lu et al., NeurIPS 2022; quantile `k`, 0 = worst):
/// `<|quark_k|>`.
pub fn reward_token(k: usize) -> String {
    format!("<|quark_{k}|>")
}

/// The strings of Quark's reward tokens `r_0 … r_{K−1}` (Lu et al., NeurIPS 2022), in quantile
/// order.
pub fn reward_tokens(k: usize) -> Vec<String> {
    (0..k).map(reward_token).collect()
}

/// Quark's conditioning (Lu et al., NeurIPS 2022): the prompt `[r_k] ++ x` that the policy reads
/// (the frozen initial model π₀ reads `x` alone).
pub fn condition(reward_token_id: u32, prompt: &[u32]) -> Vec<u32> {
    std::iter::once(reward_token_id)
        .chain(prompt.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_placement() {
        assert_eq!(
            reward_tokens(3),
            ["<|quark_0|>", "<|quark_1|>", "<|quark_2|>"]
        );
        assert_eq!(condition(9, &[4, 5]), vec![9, 4, 5]);
    }
}
