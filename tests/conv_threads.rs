//! Convolutional networks do not depend on the number of threads either (as `tests/threads.rs`
//! for the MLP): training steps of LeNet-5 and of a network with strided, padded convolutions and
//! both poolings give the same weights with 1, 2 and 3 threads, bit for bit, and so do batched
//! outputs.

mod common;

use nn::prelude::*;
use nn::train::Workspace;
use nn::{Mode, Rng};

network! {
    struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

network! {
    /// `[3, 32, 32]` -> `[8, 16, 16]` -> `[8, 8, 8]` -> `[16, 8, 8]` -> `[16, 3, 3]` -> 10.
    struct Strided: [3, 32, 32] => Conv2d<3, 8, 3>(stride = 2, padding = 1) -> Tanh -> AvgPool2d<2> -> Conv2d<8, 16, 3>(padding = 1) -> ReLU -> MaxPool2d<3>(stride = 2) -> Flatten -> Linear<144, 10>
}

/// Batch sizes of the training steps: multiples of typical blocks and not, one tiny.
const BATCHES: [usize; 5] = [64, 67, 5, 32, 96];

fn bits(module: &impl Module) -> Vec<u32> {
    let mut all = Vec::new();
    module.visit_params("", &mut |_, _, values| all.extend(values.iter().map(|v| v.to_bits())));
    all
}

/// Trains `N` from `Module::init_with` (seed 3) with `threads` threads on consecutive batches of [`BATCHES`],
/// returning the weights' bits and the bits of the batched logits of the first 100 inputs.
fn train<N, I>(threads: usize, inputs: &[I], labels: &[usize]) -> (Vec<u32>, Vec<u32>)
where
    N: Layer<I, Output = [f32; 10]>,
    I: Tensor,
{
    nn::set_num_threads(threads);
    // More threads than cores are clamped to the cores (issue 16).
    assert_eq!(nn::num_threads(), threads.min(nn::max_threads()));
    let mut net = N::init_with(&mut Rng::seed(3));
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let mut workspace = Workspace::<N, I, usize>::new();
    let mut start = 0;
    for batch in BATCHES {
        let end = start + batch;
        workspace.train_step(
            &mut net,
            &CrossEntropy,
            &mut opt,
            &inputs[start..end],
            &labels[start..end],
        );
        start = end;
    }
    let mut logits = vec![[0.0f32; 10]; 100];
    net.forward_batch(&inputs[..100], &mut logits, &mut Default::default(), Mode::Eval);
    (bits(&net), logits.iter().flatten().map(|v| v.to_bits()).collect())
}

fn assert_same_bits<N, I>(name: &str, inputs: &[I], labels: &[usize])
where
    N: Layer<I, Output = [f32; 10]>,
    I: Tensor,
{
    let (weights_1, logits_1) = train::<N, I>(1, inputs, labels);
    let (weights_2, logits_2) = train::<N, I>(2, inputs, labels);
    let (weights_3, logits_3) = train::<N, I>(3, inputs, labels);
    assert_eq!(weights_1.len(), N::NUM_PARAMS);
    let differing = weights_1.iter().zip(&weights_2).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing, 0,
        "{name}: {differing} weights differ between 1 and 2 threads"
    );
    assert!(weights_1 == weights_3, "{name}: weights differ between 1 and 3 threads");
    assert!(
        logits_1 == logits_2 && logits_1 == logits_3,
        "{name}: batched logits differ"
    );
}

/// Both networks in one test: the thread count is global, so the two must not run concurrently.
#[test]
fn conv_training_steps_give_the_same_bits_with_one_two_and_three_threads() {
    let size: usize = BATCHES.iter().sum();
    let (images, labels) = common::random_images::<28, 28>(size, 5, 10);
    let digits: Vec<[[[f32; 28]; 28]; 1]> = images.into_iter().map(|image| [image]).collect();
    assert_same_bits::<LeNet, _>("LeNet", &digits, &labels);

    let mut rng = Rng::seed(6);
    let colour: Vec<[[[f32; 32]; 32]; 3]> = (0..size)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.unit()))))
        .collect();
    assert_same_bits::<Strided, _>("Strided", &colour, &labels);
}
