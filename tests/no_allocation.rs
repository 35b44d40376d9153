//! After the first step, a training step performs no heap allocation, and single-sample
//! `forward` never does. A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, CountingAllocator};
use nn::prelude::*;
use nn::train::Workspace;

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
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let mut workspace = Workspace::<MnistMlp, Image, usize>::new();
    let (inputs, labels) = batch(64);
    let first = allocations_during(|| {
        workspace.train_step(&mut net, &CrossEntropy, &mut opt, &inputs, &labels);
    });
    assert!(first > 0, "the first step sizes the buffers (so the counter works)");
    let later = allocations_during(|| {
        for _ in 0..3 {
            workspace.train_step(&mut net, &CrossEntropy, &mut opt, &inputs, &labels);
        }
    });
    assert_eq!(later, 0, "steps after the first allocated {later} times");
    // A smaller last batch of an epoch reuses the same buffers.
    let smaller = allocations_during(|| {
        workspace.train_step(&mut net, &CrossEntropy, &mut opt, &inputs[..10], &labels[..10]);
    });
    assert_eq!(smaller, 0);
}

#[test]
fn single_sample_forward_does_not_allocate() {
    let net = MnistMlp::init(0);
    let (inputs, _) = batch(1);
    let mut logits = [0.0; 10];
    let count = allocations_during(|| logits = net.forward(&inputs[0]));
    assert_eq!(count, 0);
    assert!(logits.iter().all(|l| l.is_finite()));
}
