//! The transformer layers' results do not depend on the number of threads: training steps of a
//! one-block transformer (embeddings, LayerNorm, causal self-attention, GELU, AdamW, the
//! ignore-index loss) with 1, 2 and 3 threads give the same weights and logits, bit for bit.
//! The batches are large enough for every layer to split its work (LayerNorm's parameter
//! gradients by groups of rows, Adam's update by values) and include sizes whose rows do not
//! fill the last group.

mod common;

use common::words::{random_words, IGNORE};
use nn::optim::AdamW;
use nn::prelude::*;
use nn::train::Workspace;
use nn::Mode;

network! {
    struct TinyGpt: [usize; 16] =>
        Embedding<27, 64> -> PositionEmbedding<16, 64> ->
        Residual { LayerNorm<64> -> CausalSelfAttention<64, 4> } ->
        Residual { LayerNorm<64> -> Linear<64, 256> -> GELU -> Linear<256, 64> } ->
        LayerNorm<64> -> Linear<64, 27>
}

type Tokens = [usize; 16];

fn bits(net: &TinyGpt) -> Vec<u32> {
    let mut all = Vec::new();
    net.visit_params("", &mut |_, _, values| all.extend(values.iter().map(|v| v.to_bits())));
    all
}

/// The weights' bits after steps on batches of several sizes with `threads` threads, and the
/// logits of a batch afterwards.
fn train(threads: usize, inputs: &[Tokens], targets: &[Tokens]) -> (Vec<u32>, Vec<u32>) {
    nn::set_num_threads(threads);
    let mut net = TinyGpt::init(5);
    let loss = CrossEntropy.ignore_index(IGNORE);
    let mut optimizer = AdamW::new(1e-3).weight_decay(0.01);
    let mut workspace = Workspace::<TinyGpt, Tokens, Tokens>::new();
    let mut start = 0;
    // 37 * 16 = 592 rows: the last group of 64 rows holds 16.
    for batch in [64, 37, 100, 64] {
        let end = start + batch;
        workspace.train_step(
            &mut net,
            &loss,
            &mut optimizer,
            &inputs[start..end],
            &targets[start..end],
        );
        start = end;
    }
    let mut logits = vec![[[0.0f32; 27]; 16]; 64];
    net.forward_batch(&inputs[..64], &mut logits, &mut Default::default(), Mode::Eval);
    (
        bits(&net),
        logits.iter().flatten().flatten().map(|v| v.to_bits()).collect(),
    )
}

#[test]
fn one_two_and_three_threads_give_the_same_bits() {
    let (inputs, targets) = random_words(265, 11);
    let (weights_1, logits_1) = train(1, &inputs, &targets);
    let (weights_2, logits_2) = train(2, &inputs, &targets);
    let (weights_3, logits_3) = train(3, &inputs, &targets);
    assert_eq!(weights_1.len(), TinyGpt::NUM_PARAMS);
    assert_ne!(weights_1, bits(&TinyGpt::init(5)), "training changed the weights");
    let differing = weights_1.iter().zip(&weights_2).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} weights differ between 1 and 2 threads");
    assert!(weights_1 == weights_3, "weights differ between 1 and 3 threads");
    assert!(logits_1 == logits_2 && logits_1 == logits_3, "logits differ");
}
