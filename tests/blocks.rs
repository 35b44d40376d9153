//! Residual and Concat blocks in `network!`: their keys, their forward pass, and their
//! gradients against finite differences of an f64 reimplementation (the method of
//! `tests/gradcheck.rs`).

mod common;

use common::gradcheck::{
    check_cross_entropy_input_grad, check_forward, check_network_params, cross_entropy64, flat64, linear64,
    random_batch, Layout,
};
use nn::loss::CrossEntropy;
use nn::prelude::*;
use nn::train::Workspace;
use nn::Rng;

network! {
    /// Every block form: a residual without and with a shortcut, and three branches joined,
    /// one of them a nested residual.
    struct Blocks: [6] =>
        Linear<6, 5> ->
        Residual { Linear<5, 5> -> Tanh -> Linear<5, 5> } -> Tanh ->
        down: Residual { Linear<5, 4> -> Tanh, shortcut: Linear<5, 4> } ->
        Concat { Linear<4, 3> -> Tanh, Linear<4, 2>, Residual { Linear<4, 4> } } ->
        Linear<9, 3>
}

#[test]
fn keys_follow_pytorch_modules() {
    let net = Blocks::init(1);
    let mut keys = Vec::new();
    net.visit_params("", &mut |key, shape, _| keys.push(format!("{key} {shape:?}")));
    assert_eq!(
        keys,
        [
            "0.weight [5, 6]",
            "0.bias [5]",
            "1.body.0.weight [5, 5]",
            "1.body.0.bias [5]",
            "1.body.2.weight [5, 5]",
            "1.body.2.bias [5]",
            "down.body.0.weight [4, 5]",
            "down.body.0.bias [4]",
            "down.shortcut.0.weight [4, 5]",
            "down.shortcut.0.bias [4]",
            "4.branches.0.0.weight [3, 4]",
            "4.branches.0.0.bias [3]",
            "4.branches.1.0.weight [2, 4]",
            "4.branches.1.0.bias [2]",
            "4.branches.2.0.body.0.weight [4, 4]",
            "4.branches.2.0.body.0.bias [4]",
            "5.weight [3, 9]",
            "5.bias [3]",
        ]
    );
    // Each `Linear<IN, OUT>` has IN * OUT + OUT parameters.
    let counted =
        (6 * 5 + 5) + 2 * (5 * 5 + 5) + 2 * (5 * 4 + 4) + (4 * 3 + 3) + (4 * 2 + 2) + (4 * 4 + 4) + (9 * 3 + 3);
    assert_eq!(Blocks::NUM_PARAMS, counted);
}

/// The network in f64, from the parameters `p` laid out as `layout` says.
fn blocks64(layout: &Layout, p: &[f64], x: &[f64]) -> Vec<f64> {
    let get = |key: &str| layout.get(p, key);
    let linear =
        |prefix: &str, x: &[f64]| linear64(get(&format!("{prefix}.weight")), get(&format!("{prefix}.bias")), x);
    let tanh = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(f64::tanh).collect() };
    let add = |a: Vec<f64>, b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(a, b)| a + b).collect() };
    let h = linear("0", x);
    let body = linear("1.body.2", &tanh(linear("1.body.0", &h)));
    let h = tanh(add(body, &h));
    let h = add(tanh(linear("down.body.0", &h)), &linear("down.shortcut.0", &h));
    let mut joined = tanh(linear("4.branches.0.0", &h));
    joined.extend(linear("4.branches.1.0", &h));
    joined.extend(add(linear("4.branches.2.0.body.0", &h), &h));
    linear("5", &joined)
}

#[test]
fn block_gradients_match_finite_differences() {
    type Input = [f32; 6];
    let mut net = Blocks::init(3);
    let mut rng = Rng::seed(40);
    let batch = 5;
    let inputs: Vec<Input> = random_batch(&mut rng, batch, -1.0, 1.0);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(3)).collect();
    let mut workspace = Workspace::<Blocks, Input, usize>::new();
    let value = workspace.compute_grads(&mut net, &CrossEntropy, &inputs, &labels);

    let (layout, params) = Layout::of(&net);
    let x = flat64(&inputs);
    let mean_loss = |p: &[f64], x: &[f64]| -> f64 {
        x.chunks_exact(6)
            .zip(&labels)
            .map(|(x, &label)| cross_entropy64(&blocks64(&layout, p, x), label))
            .sum::<f64>()
            / batch as f64
    };
    for (sample, x) in inputs.iter().zip(x.chunks_exact(6)) {
        check_forward("Blocks forward", &net.forward(sample), &blocks64(&layout, &params, x));
    }
    check_forward("Blocks mean loss", &[value], &[mean_loss(&params, &x)]);
    let params_worst = check_network_params("Blocks", &net, workspace.grads(), &mut rng, |p| mean_loss(p, &x));
    let input_worst = check_cross_entropy_input_grad("Blocks", &net, &inputs, &labels, |x| mean_loss(&params, x));
    println!("blocks: worst scaled error {:.3e}", params_worst.max(input_worst));
}

network! {
    /// Image branches joined along channels, and a residual on images.
    struct ImageBlocks: [2, 6, 6] =>
        Concat { Conv2d<2, 3, 3>(padding = 1), Conv2d<2, 1, 1> } -> Tanh ->
        Residual { Conv2d<4, 4, 3>(padding = 1) -> Tanh } ->
        MaxPool2d<2> -> Flatten -> Linear<36, 2>
}

#[test]
fn image_concat_joins_channels() {
    let net = ImageBlocks::init(5);
    let mut rng = Rng::seed(6);
    let image: [[[f32; 6]; 6]; 2] = random_batch(&mut rng, 1, -1.0, 1.0)[0];
    let joined: [[[f32; 6]; 6]; 4] = net.layer_0.forward(&image);
    let first: [[[f32; 6]; 6]; 3] = net.layer_0.branches.0.forward(&image);
    let second: [[[f32; 6]; 6]; 1] = net.layer_0.branches.1.forward(&image);
    assert_eq!(joined[..3], first[..]);
    assert_eq!(joined[3..], second[..]);
    // The batched pass gives what one sample at a time gives.
    let images: Vec<[[[f32; 6]; 6]; 2]> = random_batch(&mut rng, 3, -1.0, 1.0);
    let mut outputs = vec![[0.0; 2]; 3];
    let mut cache = Default::default();
    net.forward_batch(&images, &mut outputs, &mut cache, nn::Mode::Eval);
    for (image, output) in images.iter().zip(&outputs) {
        let single = net.forward(image);
        for (a, b) in single.iter().zip(output) {
            assert!((a - b).abs() < 1e-5, "{single:?} vs {output:?}");
        }
    }
}

network! {
    /// Dropout inside a residual body: the mode must reach it through the block.
    struct NoisyBlock: [64] => Residual { Dropout(0.5) }
}

#[test]
fn the_mode_reaches_layers_inside_blocks() {
    let net = NoisyBlock::init(0);
    let inputs = vec![[1.0f32; 64]; 4];
    let mut outputs = vec![[0.0; 64]; 4];
    let mut cache = Default::default();
    // Evaluation: dropout passes values through, so the block doubles its input (x + x).
    net.forward_batch(&inputs, &mut outputs, &mut cache, nn::Mode::Eval);
    assert!(outputs.as_flattened().iter().all(|&y| y == 2.0));
    // Training: each value is dropped (x + 0) or kept and scaled by 1 / (1 - 0.5) (x + 2x).
    net.forward_batch(&inputs, &mut outputs, &mut cache, nn::Mode::Train);
    let dropped = outputs.as_flattened().iter().filter(|&&y| y == 1.0).count();
    let kept = outputs.as_flattened().iter().filter(|&&y| y == 3.0).count();
    assert_eq!(dropped + kept, 4 * 64);
    assert!(
        dropped > 64 && kept > 64,
        "{dropped} dropped, {kept} kept of 256 at p = 0.5"
    );
}
