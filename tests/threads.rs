//! Results do not depend on the number of threads: a few training steps with 1 and with 2
//! threads give the same weights, bit for bit, and so do batched and single-sample outputs.

mod common;

use nn::prelude::*;
use nn::train::Workspace;
use nn::Mode;

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

type Image = [[f32; 28]; 28];

fn data(size: usize) -> (Vec<Image>, Vec<usize>) {
    common::random_images(size, 5, 10)
}

fn bits(net: &MnistMlp) -> Vec<u32> {
    let mut all = Vec::new();
    net.visit_params("", &mut |_, _, values| all.extend(values.iter().map(|v| v.to_bits())));
    all
}

/// Trains with `threads` threads on batches of several sizes (multiples of the kernels' blocks
/// and not), returning the weights' bits, the logits of a batch of 300 and those of 5
/// single-sample forwards.
fn train(threads: usize, images: &[Image], labels: &[usize]) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    nn::set_num_threads(threads);
    // More threads than cores are clamped to the cores (issue 16).
    assert_eq!(nn::num_threads(), threads.min(nn::max_threads()));
    let mut net = MnistMlp::init(3);
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let mut workspace = Workspace::<MnistMlp, Image, usize>::new();
    let mut start = 0;
    for batch in [64, 67, 256, 5, 64, 130] {
        let end = start + batch;
        workspace.train_step(
            &mut net,
            &CrossEntropy,
            &mut opt,
            &images[start..end],
            &labels[start..end],
        );
        start = end;
    }
    let mut logits = vec![[0.0f32; 10]; 300];
    net.forward_batch(&images[..300], &mut logits, &mut Default::default(), Mode::Eval);
    let single = images[..5]
        .iter()
        .flat_map(|image| net.forward(image))
        .map(f32::to_bits);
    (
        bits(&net),
        logits.iter().flatten().map(|v| v.to_bits()).collect(),
        single.collect(),
    )
}

#[test]
fn one_and_two_threads_give_the_same_bits() {
    let (images, labels) = data(600);
    let (weights_1, logits_1, single_1) = train(1, &images, &labels);
    let (weights_2, logits_2, single_2) = train(2, &images, &labels);
    let (weights_3, logits_3, single_3) = train(3, &images, &labels);
    assert_eq!(weights_1.len(), MnistMlp::NUM_PARAMS);
    let differing = weights_1.iter().zip(&weights_2).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} weights differ between 1 and 2 threads");
    assert!(weights_1 == weights_3, "weights differ between 1 and 3 threads");
    assert!(logits_1 == logits_2 && logits_1 == logits_3, "batched logits differ");
    assert!(
        single_1 == single_2 && single_1 == single_3,
        "single-sample logits differ"
    );
}
