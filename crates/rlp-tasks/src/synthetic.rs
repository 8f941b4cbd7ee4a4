//! `synthetic`: a toy task that trains in seconds, for tests and quick experiments.
//!
//! Texts are strings of words from a 40-word vocabulary: 10 good words, 10 bad words and 20
//! neutral ones. Prompts are `"review:"` and two neutral words; the gold reward of a response is
//! its net sentiment per word, `R(y) = (#good(y) − #bad(y)) / max(#words(y), 1)` ∈ [−1, 1], so a
//! policy can raise it only by changing word choice, not length. The base policy is a freshly
//! initialised tiny decoder with a byte-level BPE trained on the task's corpus; [`random_responses`]
//! is a sampler that needs no model (uniform words), for labelling tests.

use rlp_core::With;
use rlp_core::burn::tensor::Device;
use rlp_core::{FnReward, SeededRng};
use rlp_models::{CausalLm, LlamaConfig, TextTokenizer};
use rlp_train::{NllTrainer, OptimConfig, collate_sft};

use crate::task::{BasePolicy, Task};

/// Words that add 1 to the gold count.
pub const GOOD: [&str; 10] = [
    "good", "great", "lovely", "superb", "fine", "happy", "bright", "kind", "warm", "best",
];
/// Words that subtract 1.
pub const BAD: [&str; 10] = [
    "bad", "awful", "dull", "poor", "sad", "grim", "rude", "cold", "worst", "ugly",
];
/// Words that count 0.
pub const NEUTRAL: [&str; 20] = [
    "the", "a", "film", "food", "room", "day", "city", "book", "song", "game", "was", "is", "very",
    "and", "but", "it", "this", "place", "so", "too",
];

/// `(#good − #bad) / max(#words, 1)` over whitespace-separated words (case-sensitive).
pub fn gold_score(response: &str) -> f32 {
    let words: Vec<&str> = response.split_whitespace().collect();
    let net: i32 = words
        .iter()
        .map(|w| i32::from(GOOD.contains(w)) - i32::from(BAD.contains(w)))
        .sum();
    net as f32 / words.len().max(1) as f32
}

/// `n` responses of `len` words drawn uniformly from all 40 words, each starting with a space
/// (they continue a prompt).
pub fn random_responses(rng: &mut SeededRng, n: usize, len: usize) -> Vec<String> {
    let all: Vec<&str> = GOOD.iter().chain(&BAD).chain(&NEUTRAL).copied().collect();
    (0..n)
        .map(|_| {
            (0..len)
                .map(|_| format!(" {}", all[rng.below(all.len())]))
                .collect()
        })
        .collect()
}

fn prompts(rng: &mut SeededRng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let a = NEUTRAL[rng.below(NEUTRAL.len())];
            let b = NEUTRAL[rng.below(NEUTRAL.len())];
            format!("review: {a} {b}")
        })
        .collect()
}

/// The task, seeded: 256 train prompts, 64 eval prompts, 200 drift texts.
pub fn synthetic(seed: u64) -> Task {
    let mut rng = SeededRng::new(seed).fork("synthetic-task");
    let train_prompts = prompts(&mut rng, 256);
    let eval_prompts = prompts(&mut rng, 64);
    let drift = prompts(&mut rng, 200)
        .into_iter()
        .zip(random_responses(&mut rng, 200, 8))
        .map(|(p, r)| p + &r)
        .collect();
    Task {
        name: "synthetic".into(),
        train_prompts,
        eval_prompts,
        dev_prompts: Vec::new(),
        gold: Box::new(FnReward::new("synthetic-gold", |_p: &str, y: &str| {
            gold_score(y)
        })),
        drift,
    }
}

/// The base policy: a BPE (vocabulary 320) trained on the task's prompts and drift texts, and a
/// fresh 2-layer, 64-wide decoder (`LlamaConfig::tiny`) seeded by `seed`.
pub fn base_policy(task: &Task, seed: u64, device: &Device) -> rlp_models::Result<BasePolicy> {
    let corpus = task.train_prompts.iter().chain(&task.drift);
    let tokenizer = TextTokenizer::train_bpe(corpus, 320)?;
    let mut config = LlamaConfig::tiny(tokenizer.vocab_size());
    config.eos_token_id = tokenizer.eos_id;
    config.pad_token_id = tokenizer.pad_id;
    let model = CausalLm::init(&config, &mut SeededRng::new(seed), device)?;
    Ok(BasePolicy { model, tokenizer })
}

/// The base policy after `steps` SFT steps (batch 32, lr 3e-3) on train prompts followed by 6
/// uniformly random words ([`random_responses`]): a policy that writes words, so its samples
/// have gold scores to compare (the fresh base mostly writes word pieces, which score 0). Needs
/// an autodiff `device`; deterministic for a seed.
pub fn word_writer(
    task: &Task,
    seed: u64,
    steps: usize,
    device: &Device,
) -> rlp_models::Result<BasePolicy> {
    let base = base_policy(task, seed, device)?;
    let mut rng = SeededRng::new(seed).fork("synthetic-word-writer");
    let lr = 3e-3;
    let mut trainer = NllTrainer::new(base.model, OptimConfig::default().with(|c| c.lr = lr))?;
    let tokenizer = base.tokenizer;
    let pad = tokenizer.pad_id.unwrap_or(0);
    for _ in 0..steps {
        let idx: Vec<usize> = (0..32)
            .map(|_| rng.below(task.train_prompts.len()))
            .collect();
        let responses = random_responses(&mut rng, idx.len(), 6);
        let mut examples = Vec::with_capacity(idx.len());
        for (&i, r) in idx.iter().zip(&responses) {
            let mut response = tokenizer.encode(r)?;
            response.extend(tokenizer.eos_id);
            examples.push((tokenizer.encode(&task.train_prompts[i])?, response));
        }
        let batch = collate_sft(&examples, pad, 64, device)?;
        trainer.step(&batch, lr)?;
    }
    Ok(BasePolicy {
        model: trainer.model,
        tokenizer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// " good bad good the" → (2 − 1) / 4 = 0.25; "" → 0 / 1 = 0; " worst" → −1.
    #[test]
    fn gold_golden() {
        assert_eq!(gold_score(" good bad good the"), 0.25);
        assert_eq!(gold_score(""), 0.0);
        assert_eq!(gold_score(" worst"), -1.0);
        let t = synthetic(0);
        let s = t
            .gold
            .score(
                &["p".into(), "p".into()],
                &[" great film".into(), " sad".into()],
            )
            .unwrap();
        assert_eq!(s, vec![0.5, -1.0]);
    }

    #[test]
    fn seeded_and_disjoint_enough() {
        let (a, b) = (synthetic(1), synthetic(1));
        assert_eq!(a.train_prompts, b.train_prompts);
        assert_eq!(a.drift, b.drift);
        assert_eq!(
            (a.train_prompts.len(), a.eval_prompts.len(), a.drift.len()),
            (256, 64, 200)
        );
        assert_ne!(synthetic(2).train_prompts, a.train_prompts);
    }
}
