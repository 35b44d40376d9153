//! Convolutional training is allocation-free after the first step too (as `tests/no_allocation.rs`
//! for the MLP): the convolution kernels' scratch and the pooling caches grow once and are reused,
//! on every thread. A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, assert_steps_after_the_first_do_not_allocate, CountingAllocator};
use nn::prelude::*;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

network! {
    struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

type Image = [[[f32; 28]; 28]; 1];

/// One test, so that the thread count (global) is set once: 2 threads, the kernels' threaded path.
#[test]
fn lenet_steps_after_the_first_and_repeated_forwards_do_not_allocate() {
    nn::set_num_threads(2);
    let (digits, labels) = common::random_images(64, 1, 10);
    let inputs: Vec<Image> = digits.into_iter().map(|digit| [digit]).collect();
    let mut net = LeNet::init(0);
    assert_steps_after_the_first_do_not_allocate(&mut net, &inputs, &labels, "LeNet");

    // Single-sample inference: the first call may size this thread's scratch, later ones may not.
    let mut logits = net.forward(&inputs[0]);
    let count = allocations_during(|| {
        for input in &inputs[..8] {
            logits = net.forward(input);
        }
    });
    assert_eq!(count, 0, "single-sample forwards allocated {count} times");
    assert!(logits.iter().all(|l| l.is_finite()));
}
