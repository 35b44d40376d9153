//! The words transformer of `examples/words.rs` (the reference model of
//! `shared/refs/torch_words_gpt.py`), and random words encoded as the example encodes the real
//! ones: the input is `.` (id 0) then the word's letters (ids 1-26), the target the letters then
//! `.`, and positions past the end are padding, ignored by the loss.

use nn::prelude::*;

network! {
    /// `examples/words.rs`'s declaration of the reference model.
    pub struct WordsGpt: [usize; 16] =>
        tok: Embedding<27, 64> -> pos: PositionEmbedding<16, 64> ->
        Residual { ln1: LayerNorm<64> -> attn: CausalSelfAttention<64, 4> } ->
        Residual { ln2: LayerNorm<64> -> Linear<64, 256> -> GELU -> Linear<256, 64> } ->
        Residual { ln1: LayerNorm<64> -> attn: CausalSelfAttention<64, 4> } ->
        Residual { ln2: LayerNorm<64> -> Linear<64, 256> -> GELU -> Linear<256, 64> } ->
        ln: LayerNorm<64> -> head: Linear<64, 27>
}

/// The padding target, [`nn::loss::CrossEntropy::ignore_index`]'s argument.
pub const IGNORE: usize = usize::MAX;

/// Inputs and targets of `size` words of 1 to 15 random letters, drawn from `seed`.
pub fn random_words(size: usize, seed: u64) -> (Vec<[usize; 16]>, Vec<[usize; 16]>) {
    let mut rng = nn::Rng::seed(seed);
    (0..size)
        .map(|_| {
            let len = 1 + rng.below(15);
            let (mut input, mut target) = ([0; 16], [IGNORE; 16]);
            for position in 0..len {
                let id = 1 + rng.below(26);
                input[position + 1] = id;
                target[position] = id;
            }
            target[len] = 0;
            (input, target)
        })
        .unzip()
}
