//! Fixtures for tests of this crate and the crates above it (the `test-utils` feature, which
//! they enable as a dev-dependency): a small trained BPE tokenizer, a tiny Llama and its logits.

use burn::tensor::Tensor;
use rlp_core::SeededRng;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::{ints, to_f32};

use crate::{CausalLm, LlamaConfig, TextTokenizer};

/// A byte-level BPE tokenizer of 300 ids trained on 200 short movie-review sentences.
pub fn bpe_tokenizer() -> TextTokenizer {
    let corpus = (0..200).map(|i| format!("the movie number {i} was great and the popcorn salty"));
    TextTokenizer::train_bpe(corpus, 300).expect("training a BPE tokenizer on a fixed corpus")
}

/// `LlamaConfig::tiny(vocab)` with tied or untied embeddings, initialised from `seed` on the
/// test backend's plain device.
pub fn tiny_lm(vocab: usize, tied: bool, seed: u64) -> CausalLm {
    let mut cfg = LlamaConfig::tiny(vocab);
    cfg.tie_word_embeddings = tied;
    let d = test_backend()
        .device()
        .expect("the test backend is compiled in");
    CausalLm::init(&cfg, &mut SeededRng::new(seed), &d).expect("a tiny config initialises")
}

/// `m`'s logits over the first `v` ids at every position of the two rows in `tokens`
/// (`[2·t]`, row-major), flattened to `[2·t·v]`.
pub fn logits_over(m: &CausalLm, tokens: &[i64], v: usize) -> Vec<f32> {
    let d = m.device();
    let t = tokens.len() / 2;
    let logits: Tensor<3> = m.forward(ints(tokens.to_vec(), [2, t], &d), None).logits;
    to_f32(logits.slice([0..2, 0..t, 0..v]))
}
