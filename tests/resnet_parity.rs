//! The residual CNN of the reference recipe (`tools/make_resnet_fixture.py`, a copy of
//! `shared/refs/torch_resnet_mnist.py`'s model) against PyTorch: a checkpoint written by
//! `save_file(model.state_dict())` loads unchanged, and evaluation, one training forward and
//! backward, the running statistics and one SGD step agree with PyTorch's.

mod common;

use std::path::PathBuf;

use common::{assert_close, Fixture};
use nn::loss::CrossEntropy;
use nn::prelude::*;
use nn::train::Workspace;
use nn::Mode;

network! {
    /// `shared/refs/torch_resnet_mnist.py`'s `model()`.
    pub struct ResNet: [1, 28, 28] =>
        Conv2d<1, 16, 3>(padding = 1) -> BatchNorm2d<16> -> ReLU ->
        Residual { Conv2d<16, 16, 3>(padding = 1) -> BatchNorm2d<16> -> ReLU -> Conv2d<16, 16, 3>(padding = 1) -> BatchNorm2d<16> } ->
        ReLU -> MaxPool2d<2> ->
        Conv2d<16, 32, 3>(padding = 1) -> BatchNorm2d<32> -> ReLU ->
        Residual { Conv2d<32, 32, 3>(padding = 1) -> BatchNorm2d<32> -> ReLU -> Conv2d<32, 32, 3>(padding = 1) -> BatchNorm2d<32> } ->
        ReLU -> MaxPool2d<2> ->
        Flatten -> Linear<1568, 10>
}

type Image = [[[f32; 28]; 28]; 1];

/// The bound for every comparison, relative to the largest expected magnitude.
const TOLERANCE: f32 = 1e-4;

fn checkpoint() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resnet_torch.safetensors")
}

/// [`assert_close`] with the scale at least 1e-2: a convolution's bias right before a batch norm
/// has no gradient (the norm subtracts it again), and both libraries give rounding noise of
/// up to about 1e-6 for it, which a scale of its own size would call a 100% error.
fn assert_close_floored(actual: &[f32], expected: &[f32], what: &str) -> f32 {
    let scale = expected.iter().fold(1e-2f32, |m, e| m.max(e.abs()));
    let worst = actual
        .iter()
        .zip(expected)
        .fold(0.0f32, |m, (a, e)| m.max((a - e).abs()));
    assert!(
        worst <= TOLERANCE * scale,
        "{what}: max difference {worst:e} exceeds {TOLERANCE:e} x {scale:e}"
    );
    worst / scale
}

#[test]
fn parameter_count_is_pytorchs() {
    // `sum(p.numel() for p in model().parameters())` in the reference script.
    assert_eq!(ResNet::NUM_PARAMS, 43_914);
}

#[test]
fn pytorch_checkpoint_loads_and_evaluates_the_same() {
    let net = ResNet::load(checkpoint()).expect("a PyTorch state_dict loads strictly");
    let io = Fixture::open("resnet_torch_io.safetensors");
    let inputs: Vec<Image> = io.batch("input");
    let expected = io.values("eval.logits");
    let mut logits = vec![[0.0; 10]; inputs.len()];
    net.forward_batch(&inputs, &mut logits, &mut Default::default(), Mode::Eval);
    let worst = assert_close(logits.as_flattened(), &expected, TOLERANCE, "eval logits");
    let single: Vec<f32> = inputs.iter().flat_map(|x| net.forward(x)).collect();
    let worst_single = assert_close(&single, &expected, TOLERANCE, "eval logits, one sample at a time");
    println!("eval logits: worst relative difference {worst:.2e} (batched), {worst_single:.2e} (single)");
}

#[test]
fn one_training_step_matches_pytorch() {
    let mut net = ResNet::load(checkpoint()).unwrap();
    let io = Fixture::open("resnet_torch_io.safetensors");
    let inputs: Vec<Image> = io.batch("input");
    let labels = io.labels("labels");

    // Training-mode logits: batch statistics.
    let mut logits = vec![[0.0; 10]; inputs.len()];
    net.clone()
        .forward_batch(&inputs, &mut logits, &mut Default::default(), Mode::Train);
    let mut worst = assert_close(
        logits.as_flattened(),
        &io.values("train.logits"),
        TOLERANCE,
        "train logits",
    );

    let mut workspace = Workspace::<ResNet, Image, usize>::new();
    let loss = workspace.compute_grads(&mut net, &CrossEntropy, &inputs, &labels);
    worst = worst.max(assert_close(&[loss], &io.values("train.loss"), TOLERANCE, "loss"));
    let mut compared = 0;
    workspace.grads().visit_params("", &mut |key, _, grad| {
        // Running statistics are state, not parameters: PyTorch has no gradient for them.
        if key.ends_with("running_mean") || key.ends_with("running_var") {
            return;
        }
        let expected = io.values(&format!("grad.{key}"));
        worst = worst.max(assert_close_floored(grad, &expected, key));
        compared += 1;
    });
    // Every parameter tensor: 6 convolutions and 1 linear with a bias, 6 batch norms with a
    // weight and a bias.
    assert_eq!(compared, 2 * 7 + 2 * 6);

    let mut sgd = Sgd::new(0.01).momentum(0.9);
    sgd.step(&mut net, workspace.grads());
    net.visit_params("", &mut |key, _, values| {
        worst = worst.max(assert_close(
            values,
            &io.values(&format!("after.{key}")),
            TOLERANCE,
            key,
        ));
    });
    let mut counters = 0;
    net.visit_counters("", &mut |key, value| {
        let expected = io.labels(&format!("after.{key}"));
        assert_eq!([value as usize], expected[..], "{key}");
        counters += 1;
    });
    assert_eq!(counters, 6, "every batch norm counts its batches");
    println!("training step: worst relative difference {worst:.2e}");
}
