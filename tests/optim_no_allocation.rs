//! Optimizers allocate their state on the first step only: after it, a training step with
//! `Adam`, `AdamW` or `Sgd` (every option on), with a learning-rate schedule applied before
//! each step, performs no heap allocation. A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, CountingAllocator};
use nn::optim::{Adam, AdamW, CosineAnnealingLr, OneCycleLr, Optimizer, Schedule, Sgd};
use nn::prelude::*;
use nn::train::Workspace;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

network! {
    struct Mlp: [8, 8] => Flatten -> Linear<64, 32> -> ReLU -> Linear<32, 16> -> Tanh -> Linear<16, 10>
}

type Image = [[f32; 8]; 8];

fn batch(size: usize) -> (Vec<Image>, Vec<usize>) {
    common::random_images(size, 1, 10)
}

/// Trains with `opt` (and `schedule` applied before every step); asserts the optimizer's
/// first step allocates and no later step does.
fn assert_no_allocation_after_first_step<O: Optimizer, S: Schedule>(name: &str, mut opt: O, schedule: S) {
    let mut net = Mlp::init(0);
    let mut workspace = Workspace::<Mlp, Image, usize>::new();
    let (inputs, labels) = batch(32);
    let loss = CrossEntropy::with_label_smoothing(0.1);
    // The workspace's buffers are sized by a first pass that does not touch the optimizer.
    workspace.compute_grads(&mut net, &loss, &inputs, &labels);
    let first = allocations_during(|| {
        schedule.apply(&mut opt, 0);
        workspace.train_step(&mut net, &loss, &mut opt, &inputs, &labels);
    });
    assert!(first > 0, "{name}: the first step allocates the optimizer's state");
    let later = allocations_during(|| {
        for step in 1..6 {
            schedule.apply(&mut opt, step);
            workspace.train_step(&mut net, &loss, &mut opt, &inputs, &labels);
        }
    });
    assert_eq!(later, 0, "{name}: steps after the first allocated {later} times");
}

#[test]
fn adam_allocates_on_the_first_step_only() {
    let opt = Adam::new(1e-3)
        .betas(0.8, 0.99)
        .eps(1e-6)
        .weight_decay(1e-4)
        .amsgrad(true);
    assert_no_allocation_after_first_step("Adam", opt, OneCycleLr::new(0.01, 10));
}

#[test]
fn adamw_allocates_on_the_first_step_only() {
    assert_no_allocation_after_first_step("AdamW", AdamW::new(1e-3), CosineAnnealingLr::new(1e-3, 10));
}

#[test]
fn sgd_allocates_on_the_first_step_only() {
    let opt = Sgd::new(0.1)
        .momentum(0.9)
        .dampening(0.1)
        .nesterov(true)
        .weight_decay(5e-4);
    assert_no_allocation_after_first_step("Sgd", opt, OneCycleLr::new(0.1, 10));
}

#[test]
fn bce_with_logits_training_steps_do_not_allocate() {
    let mut net = Mlp::init(1);
    let mut opt = AdamW::new(1e-3);
    let mut workspace = Workspace::<Mlp, Image, [f32; 10]>::new();
    let (inputs, labels) = batch(16);
    let targets: Vec<[f32; 10]> = labels
        .iter()
        .map(|&label| std::array::from_fn(|i| if i == label { 1.0 } else { 0.0 }))
        .collect();
    workspace.train_step(&mut net, &BceWithLogits, &mut opt, &inputs, &targets);
    let later = allocations_during(|| {
        for _ in 0..3 {
            workspace.train_step(&mut net, &BceWithLogits, &mut opt, &inputs, &targets);
        }
    });
    assert_eq!(later, 0);
}
