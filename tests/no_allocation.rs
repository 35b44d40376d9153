//! After the first step, a training step performs no heap allocation, and single-sample
//! `forward` never does. A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, assert_steps_after_the_first_do_not_allocate, CountingAllocator};
use nn::prelude::*;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

type Image = [[f32; 28]; 28];

fn batch(size: usize) -> (Vec<Image>, Vec<usize>) {
    common::random_images(size, 1, 10)
}

#[test]
fn training_steps_after_the_first_do_not_allocate() {
    let mut net = MnistMlp::init(0);
    let (inputs, labels) = batch(64);
    assert_steps_after_the_first_do_not_allocate(&mut net, &inputs, &labels, "MLP");
}

#[test]
fn single_sample_forward_does_not_allocate() {
    // With workers running, the forward of the 784x128 layer is split across them.
    nn::set_num_threads(2);
    let net = MnistMlp::init(0);
    let (inputs, _) = batch(1);
    let mut logits = [0.0; 10];
    let count = allocations_during(|| logits = net.forward(&inputs[0]));
    assert_eq!(count, 0);
    assert!(logits.iter().all(|l| l.is_finite()));
}
