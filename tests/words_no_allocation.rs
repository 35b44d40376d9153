//! After the first step, a training step of the transformer of `examples/words.rs` (token
//! embeddings, learned positions, causal self-attention, LayerNorm, GELU, residual blocks, the
//! ignore-index loss and AdamW) performs no heap allocation, nor does its evaluation pass or
//! single-sample `forward`. A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, CountingAllocator};
use common::words::{random_words, WordsGpt, IGNORE};
use nn::optim::AdamW;
use nn::prelude::*;
use nn::train::Workspace;
use nn::Mode;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

type Tokens = [usize; 16];

#[test]
fn training_steps_of_the_words_transformer_after_the_first_do_not_allocate() {
    let mut net = WordsGpt::init(0);
    let (inputs, targets) = random_words(64, 3);
    let loss = CrossEntropy.ignore_index(IGNORE);
    let mut optimizer = AdamW::new(1e-3).weight_decay(0.01);
    let mut workspace = Workspace::<WordsGpt, Tokens, Tokens>::new();
    let first = allocations_during(|| {
        workspace.train_step(&mut net, &loss, &mut optimizer, &inputs, &targets);
    });
    assert!(first > 0, "the first step sizes the buffers (so the counter works)");
    let later = allocations_during(|| {
        for _ in 0..3 {
            workspace.train_step(&mut net, &loss, &mut optimizer, &inputs, &targets);
        }
    });
    assert_eq!(later, 0, "steps after the first allocated {later} times");
    let smaller = allocations_during(|| {
        workspace.train_step(&mut net, &loss, &mut optimizer, &inputs[..10], &targets[..10]);
    });
    assert_eq!(smaller, 0, "a smaller last batch allocated {smaller} times");
}

#[test]
fn evaluation_and_single_sample_forward_do_not_allocate() {
    let net = WordsGpt::init(0);
    let (inputs, _) = random_words(16, 3);
    let mut cache = <WordsGpt as Layer<Tokens>>::Cache::default();
    let mut outputs = vec![[[0.0; 27]; 16]; 16];
    net.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Train);
    let evaluation = allocations_during(|| net.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Eval));
    assert_eq!(evaluation, 0);
    let mut logits = [[0.0; 27]; 16];
    let single = allocations_during(|| logits = net.forward(&inputs[0]));
    assert_eq!(single, 0);
    assert!(logits.as_flattened().iter().all(|v| v.is_finite()));
}
