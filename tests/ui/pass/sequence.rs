// A small transformer over token ids: every sequence layer, `Linear` on the last dimension of
// `[T, D]`, residual blocks around attention and the MLP, a position table longer than the
// context, and the summary of its shapes.
use nn::prelude::*;

network! {
    /// A one-block language model over 10 tokens, a context of 8 and a width of 16.
    pub struct TinyGpt: [usize; 8] =>
        tok: Embedding<10, 16> -> pos: PositionEmbedding<12, 16> ->
        Residual { LayerNorm<16> -> CausalSelfAttention<16, 2> } ->
        Residual { LayerNorm<16> -> Linear<16, 32> -> GELU -> Linear<32, 16> } ->
        LayerNorm<16> -> head: Linear<16, 10>
}

fn main() {
    let net = TinyGpt::init(0);
    let logits: [[f32; 10]; 8] = net.forward(&[1, 2, 3, 0, 0, 0, 0, 0]);
    assert!(logits.as_flattened().iter().all(|v| v.is_finite()));
    assert_eq!(
        TinyGpt::NUM_PARAMS,
        10 * 16 + 12 * 16 + 2 * 16 + (4 * 16 * 16 + 4 * 16) + 2 * 16 + (16 * 32 + 32 + 32 * 16 + 16) + 2 * 16 + (16 * 10 + 10)
    );
    println!("{}", net.summary());
}
