//! After the first step, a training step of a network with `BatchNorm2d` performs no heap
//! allocation (its cache grows once), nor does its evaluation pass or single-sample `forward`.
//! A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, assert_steps_after_the_first_do_not_allocate, CountingAllocator};
use common::seq::Seq;
use nn::prelude::*;
use nn::Mode;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

type Image = [[[f32; 28]; 28]; 1];

/// `Conv2d(1, 16, 3, padding=1) -> BatchNorm2d(16) -> ReLU -> Flatten -> Linear(12544, 10)`:
/// batch norm on 16 x 28 x 28 activations, the size of the residual CNN it is meant for.
type ConvNorm =
    Seq<Seq<Conv2d<1, 16, 3, 1, 1, 28, 28>, BatchNorm2d<16>>, Seq<ReLU, Seq<Flatten<12544>, Linear<12544, 10>>>>;

fn images(size: usize) -> (Vec<Image>, Vec<usize>) {
    let (images, labels) = common::random_images::<28, 28>(size, 2, 10);
    (images.into_iter().map(|image| [image]).collect(), labels)
}

#[test]
fn training_steps_with_batch_norm_after_the_first_do_not_allocate() {
    let mut net = ConvNorm::init_with(&mut nn::Rng::seed(0));
    let (inputs, labels) = images(64);
    assert_steps_after_the_first_do_not_allocate(&mut net, &inputs, &labels, "Conv2d -> BatchNorm2d");
    // Five training steps: the statistics were updated by each.
    assert_eq!(net.first.second.num_batches_tracked, 5);
}

#[test]
fn evaluation_and_single_sample_forward_do_not_allocate() {
    let net = ConvNorm::init_with(&mut nn::Rng::seed(0));
    let (inputs, _) = images(16);
    let mut cache = <ConvNorm as Layer<Image>>::Cache::default();
    let mut outputs = vec![[0.0; 10]; 16];
    net.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Train);
    let evaluation = allocations_during(|| net.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Eval));
    assert_eq!(evaluation, 0);
    let mut logits = [0.0; 10];
    let single = allocations_during(|| logits = net.forward(&inputs[0]));
    assert_eq!(single, 0);
    assert!(logits.iter().all(|v| v.is_finite()));
}

network! {
    /// The residual CNN of `examples/resnet.rs`.
    struct ResNet: [1, 28, 28] =>
        Conv2d<1, 16, 3>(padding = 1) -> BatchNorm2d<16> -> ReLU ->
        Residual { Conv2d<16, 16, 3>(padding = 1) -> BatchNorm2d<16> -> ReLU -> Conv2d<16, 16, 3>(padding = 1) -> BatchNorm2d<16> } ->
        ReLU -> MaxPool2d<2> ->
        Conv2d<16, 32, 3>(padding = 1) -> BatchNorm2d<32> -> ReLU ->
        Residual { Conv2d<32, 32, 3>(padding = 1) -> BatchNorm2d<32> -> ReLU -> Conv2d<32, 32, 3>(padding = 1) -> BatchNorm2d<32> } ->
        ReLU -> MaxPool2d<2> ->
        Flatten -> Linear<1568, 10>
}

#[test]
fn training_steps_of_the_residual_cnn_after_the_first_do_not_allocate() {
    let mut net = ResNet::init(0);
    let (inputs, labels) = images(64);
    assert_steps_after_the_first_do_not_allocate(&mut net, &inputs, &labels, "the residual CNN");
    // The statistics inside the residual blocks were updated by every step.
    assert_eq!(net.layer_3.body.layer_4.num_batches_tracked, 5);
    assert_eq!(net.layer_9.body.layer_1.num_batches_tracked, 5);
}
