//! After the first step, a training step through `CausalSelfAttention` performs no heap
//! allocation (its cache grows once), nor does a batched evaluation pass or a single-sample
//! `forward`. A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, assert_steps_after_the_first_do_not_allocate, CountingAllocator};
use common::gradcheck::random_batch;
use common::seq::Seq;
use nn::prelude::*;
use nn::Mode;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// A sequence of the reference model's shape: 16 positions of 64 features.
type Sequence = [[f32; 64]; 16];

/// The reference model's attention, then a classifier head over the whole sequence, so that
/// the trainer's cross-entropy can drive it.
type AttentionClassifier = Seq<CausalSelfAttention<64, 4>, Seq<Flatten<1024>, Linear<1024, 10>>>;

fn sequences(size: usize) -> (Vec<Sequence>, Vec<usize>) {
    let inputs = random_batch(&mut nn::Rng::seed(67), size, -1.0, 1.0);
    (inputs, (0..size).map(|i| i % 10).collect())
}

#[test]
fn training_steps_through_attention_after_the_first_do_not_allocate() {
    let mut net = AttentionClassifier::init_with(&mut nn::Rng::seed(0));
    let (inputs, labels) = sequences(64);
    assert_steps_after_the_first_do_not_allocate(&mut net, &inputs, &labels, "CausalSelfAttention -> Linear");
}

#[test]
fn evaluation_and_single_sample_forward_do_not_allocate() {
    let attention = CausalSelfAttention::<64, 4>::init_with(&mut nn::Rng::seed(0));
    let (inputs, _) = sequences(16);
    let mut cache = Default::default();
    let mut outputs = vec![[[0.0; 64]; 16]; 16];
    attention.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Train);
    let evaluation = allocations_during(|| attention.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Eval));
    assert_eq!(evaluation, 0);
    // On a thread of its own, which has never run a batched product (whose kernels keep
    // per-thread buffers): one sample needs none of them.
    std::thread::spawn(move || {
        let mut output = [[0.0; 64]; 16];
        let single = allocations_during(|| output = attention.forward(&inputs[0]));
        assert_eq!(single, 0);
        assert!(output.as_flattened().iter().all(|v| v.is_finite()));
    })
    .join()
    .unwrap();
}
