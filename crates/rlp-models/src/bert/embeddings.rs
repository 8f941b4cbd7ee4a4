//! BERT's input embeddings: word + absolute position + token type (segment 0), then LayerNorm
//! (`embeddings.*` in Hugging Face checkpoints; dropout is an identity at inference).

use burn::module::Module;
use burn::nn::{Embedding, LayerNorm};
use burn::tensor::{Int, Tensor};

/// `embeddings.word_embeddings`, `.position_embeddings`, `.token_type_embeddings`, `.LayerNorm`.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// Token embeddings `[vocab, d]`.
    pub word_embeddings: Embedding,
    /// Absolute position embeddings `[max_position_embeddings, d]`.
    pub position_embeddings: Embedding,
    /// Segment embeddings `[type_vocab_size, d]`; only row 0 is used.
    pub token_type_embeddings: Embedding,
    /// The LayerNorm applied to the sum.
    pub layer_norm: LayerNorm,
}

impl BertEmbeddings {
    /// `input_ids: [b, s]` → `[b, s, d]`. Positions are `0..s` for every row (right padding,
    /// as BERT tokenizers pad) and every token has segment id 0. The caller checks
    /// `s ≤ max_position_embeddings`.
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        let [_, s] = input_ids.dims();
        let words = self.word_embeddings.forward(input_ids);
        let [_, d] = self.position_embeddings.weight.dims();
        let positions = self
            .position_embeddings
            .weight
            .val()
            .slice(0..s)
            .reshape([1, s, d]);
        let segment = self
            .token_type_embeddings
            .weight
            .val()
            .slice(0..1)
            .reshape([1, 1, d]);
        self.layer_norm.forward(words + positions + segment)
    }
}
