//! Finite-difference gradient checks of every layer, every loss and whole generated networks.
//!
//! The method, the same in every test:
//!
//! - The analytic gradient is what the library computes in f32 (`backward_batch`,
//!   `loss_and_grad`, `Workspace::compute_grads`).
//! - The expected value is never written by hand and never taken from the library: it is the
//!   central difference `(L(p + h) - L(p - h)) / 2h` of an f64 reimplementation of the forward pass
//!   written in this file, evaluated at the library's own f32 parameters and inputs converted to
//!   f64, with `h = 1e-6`.
//! - For a single layer the scalar objective is `L = sum_b sum_j c[b][j] * y[b][j]` with fixed
//!   pseudo-random coefficients `c`, so `dL/dy = c` is what `backward_batch` receives as
//!   `grad_output`. For losses and networks `L` is the mean loss of the batch.
//!
//! The tolerance is `|analytic - numeric| <= 1e-4 * max(|numeric|, min(1, M))` with `M` the
//! largest `|numeric|` of the tensor checked, and every check also asserts that it is able to
//! fail: the finite differences of a tensor must not all be negligible, and the same check
//! applied to the negated or doubled analytic gradient must be rejected (see [`check`] and
//! `the_check_rejects_typical_gradient_bugs`).
//!
//! The machinery, shared with `tests/conv_gradcheck.rs` and `tests/loss_gradcheck.rs`, is in
//! `tests/common/gradcheck.rs`: the step `H` and the tolerance `TOL` with their reasons, the
//! floor `MIN_SCALE`, the comparison [`check`], and [`check_layer`] and [`check_network_params`].
//!
//! Run with `cargo test --test gradcheck -- --nocapture` to see the worst error of each check.

mod common;

use common::gradcheck::{
    all, check, check_cross_entropy_input_grad, check_forward, check_layer, check_network_params, cross_entropy64, dot,
    flat64, linear64, numeric_grad, passes, per_sample, random_batch, to_f64, Layout,
};
use nn::loss::{CrossEntropy, Loss, Mse};
use nn::prelude::*;
use nn::train::Workspace;
use nn::{Mode, Rng};

/// ReLU inputs are drawn at least this far from its kink at 0, where it has no derivative and a
/// central difference straddling the kink would average the two one-sided slopes.
const KINK_MARGIN: f32 = 1e-3;

// ---------------------------------------------------------------------------------------------
// Data (the rest of the machinery is in `tests/common/gradcheck.rs`)
// ---------------------------------------------------------------------------------------------

/// As [`random_batch`], with every value at least [`KINK_MARGIN`] away from 0.
fn random_batch_away_from_zero<T: Tensor>(rng: &mut Rng, batch: usize, low: f32, high: f32) -> Vec<T> {
    let mut values = random_batch::<T>(rng, batch, low, high);
    for v in T::flat_batch_mut(&mut values) {
        while v.abs() < KINK_MARGIN {
            *v = rng.uniform(low, high);
        }
    }
    values
}

// ---------------------------------------------------------------------------------------------
// f64 reference implementations
// ---------------------------------------------------------------------------------------------

fn relu64(x: f64) -> f64 {
    x.max(0.0)
}

fn sigmoid64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn tanh64(x: f64) -> f64 {
    x.tanh()
}

/// `mean((y - t)^2)` over every element.
fn mse64(outputs: &[f64], targets: &[f64]) -> f64 {
    assert_eq!(outputs.len(), targets.len());
    outputs.iter().zip(targets).map(|(y, t)| (y - t) * (y - t)).sum::<f64>() / outputs.len() as f64
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/// `Linear<IN, OUT>`: gradients with respect to weight, bias and input (see [`check_layer`]).
fn check_linear<const IN: usize, const OUT: usize>(seed: u64, batch: usize) -> f64 {
    let mut rng = Rng::seed(seed);
    let layer = Linear::<IN, OUT>::init_with(&mut rng);
    let inputs: Vec<[f32; IN]> = random_batch(&mut rng, batch, -1.0, 1.0);
    check_layer(
        &format!("Linear<{IN}, {OUT}> batch {batch}"),
        &layer,
        &inputs,
        &mut rng,
        |layout, p, x| per_sample(x, IN, |x| linear64(layout.get(p, "weight"), layout.get(p, "bias"), x)),
    )
}

#[test]
fn linear_weight_bias_and_input_gradients() {
    let worst = [
        check_linear::<1, 1>(1, 1),
        check_linear::<7, 5>(2, 4),
        check_linear::<6, 6>(3, 3),
        // Sizes that are exact multiples of the kernel's blocks (4 rows, 8 and 16 columns).
        check_linear::<32, 8>(5, 8),
        // Sizes that are not multiples of any kernel block (odd output count, column and row
        // tails), with a batch above the block size and a remainder row.
        check_linear::<37, 19>(4, 13),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("linear: worst scaled error {worst:.3e}");
}

/// An element-wise activation on a rank-1 and a rank-3 input: the input gradient (see
/// [`check_layer`]), against central differences of `f` applied to every element.
fn check_activation<A>(name: &str, layer: A, f: fn(f64) -> f64, seed: u64, range: f32, avoid_zero: bool) -> f64
where
    A: Layer<[f32; 9], Output = [f32; 9]> + Layer<[[[f32; 3]; 2]; 2], Output = [[[f32; 3]; 2]; 2]>,
{
    let mut rng = Rng::seed(seed);
    let reference = |_: &Layout, _: &[f64], x: &[f64]| -> Vec<f64> { x.iter().map(|&v| f(v)).collect() };
    fn draw<T: Tensor>(rng: &mut Rng, range: f32, avoid_zero: bool) -> Vec<T> {
        if avoid_zero {
            random_batch_away_from_zero(rng, 4, -range, range)
        } else {
            random_batch(rng, 4, -range, range)
        }
    }
    let rank1: Vec<[f32; 9]> = draw(&mut rng, range, avoid_zero);
    let rank3: Vec<[[[f32; 3]; 2]; 2]> = draw(&mut rng, range, avoid_zero);
    let a = check_layer(&format!("{name} on [9]"), &layer, &rank1, &mut rng, reference);
    let b = check_layer(&format!("{name} on [2, 2, 3]"), &layer, &rank3, &mut rng, reference);
    a.max(b)
}

#[test]
fn relu_input_gradient() {
    // Inputs in [-2, 2) but never within 1e-3 of the kink at 0 (see KINK_MARGIN).
    let worst = check_activation("ReLU", ReLU, relu64, 10, 2.0, true);
    println!("relu: worst scaled error {worst:.3e}");
}

#[test]
fn sigmoid_input_gradient() {
    let worst = check_activation("Sigmoid", Sigmoid, sigmoid64, 11, 4.0, false);
    println!("sigmoid: worst scaled error {worst:.3e}");
}

#[test]
fn tanh_input_gradient() {
    let worst = check_activation("Tanh", Tanh, tanh64, 12, 3.0, false);
    println!("tanh: worst scaled error {worst:.3e}");
}

#[test]
fn flatten_input_gradient_from_2d_and_3d() {
    let mut rng = Rng::seed(13);
    // Flatten is row-major, so in f64 it is the identity on the flat batch.
    let identity = |_: &Layout, _: &[f64], x: &[f64]| x.to_vec();
    let inputs_2d: Vec<[[f32; 5]; 3]> = random_batch(&mut rng, 4, -1.0, 1.0);
    let a = check_layer(
        "Flatten<15> from [3, 5]",
        &Flatten::<15>,
        &inputs_2d,
        &mut rng,
        identity,
    );
    let inputs_3d: Vec<[[[f32; 4]; 3]; 2]> = random_batch(&mut rng, 3, -1.0, 1.0);
    let b = check_layer(
        "Flatten<24> from [2, 3, 4]",
        &Flatten::<24>,
        &inputs_3d,
        &mut rng,
        identity,
    );
    println!("flatten: worst scaled error {:.3e}", a.max(b));
}

// ---------------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------------

#[test]
fn cross_entropy_gradient_of_the_mean_loss() {
    const CLASSES: usize = 6;
    let mut rng = Rng::seed(20);
    let batch = 5;
    let mut logits: Vec<[f32; CLASSES]> = random_batch(&mut rng, batch, -3.0, 3.0);
    // Large logits in one sample and one dominant logit in another: the log-sum-exp must be
    // stable (exp(90) overflows f32).
    logits[1].iter_mut().for_each(|x| *x += 90.0);
    logits[3][2] += 12.0;
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(CLASSES)).collect();

    let mut grad = vec![[f32::NAN; CLASSES]; batch]; // must be overwritten
    let value = CrossEntropy.loss_and_grad(&logits, &labels, &mut grad);

    let mean_loss = |x: &[f64]| -> f64 {
        x.chunks_exact(CLASSES)
            .zip(&labels)
            .map(|(l, &label)| cross_entropy64(l, label))
            .sum::<f64>()
            / batch as f64
    };
    let x = flat64(&logits);
    check_forward("CrossEntropy loss_and_grad value", &[value], &[mean_loss(&x)]);
    check_forward(
        "CrossEntropy loss value",
        &[CrossEntropy.loss(&logits, &labels)],
        &[mean_loss(&x)],
    );
    // Expected values: central differences of the f64 mean loss.
    let numeric = numeric_grad(&x, &all(x.len()), mean_loss);
    let worst = check("CrossEntropy [6] batch 5", &flat64(&grad), &numeric);
    println!("cross entropy: worst scaled error {worst:.3e}");
}

fn check_mse<O: Tensor>(name: &str, seed: u64, batch: usize) -> f64 {
    let mut rng = Rng::seed(seed);
    let outputs: Vec<O> = random_batch(&mut rng, batch, -2.0, 2.0);
    let targets: Vec<O> = random_batch(&mut rng, batch, -2.0, 2.0);
    let mut grad = vec![O::zeros(); batch];
    O::flat_batch_mut(&mut grad).fill(f32::NAN); // must be overwritten
    let value = Mse.loss_and_grad(&outputs, &targets, &mut grad);

    let (y, t) = (flat64(&outputs), flat64(&targets));
    check_forward(&format!("{name} loss_and_grad value"), &[value], &[mse64(&y, &t)]);
    check_forward(
        &format!("{name} loss value"),
        &[Mse.loss(&outputs, &targets)],
        &[mse64(&y, &t)],
    );
    // Expected values: central differences of the f64 mean loss.
    let numeric = numeric_grad(&y, &all(y.len()), |y| mse64(y, &t));
    check(name, &flat64(&grad), &numeric)
}

#[test]
fn mse_gradient_of_the_mean_loss() {
    let a = check_mse::<[f32; 5]>("Mse [5] batch 4", 21, 4);
    let b = check_mse::<[[f32; 3]; 2]>("Mse [2, 3] batch 3", 22, 3);
    println!("mse: worst scaled error {:.3e}", a.max(b));
}

// ---------------------------------------------------------------------------------------------
// Whole networks
// ---------------------------------------------------------------------------------------------

network! {
    /// The network of the brief: ReLU and Tanh between three Linear layers, CrossEntropy loss.
    struct Classifier: [4, 5] => Flatten -> Linear<20, 16> -> ReLU -> Linear<16, 8> -> Tanh -> Linear<8, 3>
}

/// `Classifier` in f64: the logits of each sample of a flat batch, and the smallest distance of
/// any ReLU input from the kink at 0.
fn classifier64(layout: &Layout, p: &[f64], inputs: &[f64]) -> (Vec<Vec<f64>>, f64) {
    let mut closest_to_kink = f64::INFINITY;
    let logits = inputs
        .chunks_exact(20) // Flatten: row-major, the flat sample itself
        .map(|x| {
            let h = linear64(layout.get(p, "1.weight"), layout.get(p, "1.bias"), x);
            closest_to_kink = h.iter().fold(closest_to_kink, |m, v| m.min(v.abs()));
            let h: Vec<f64> = h.into_iter().map(relu64).collect();
            let h = linear64(layout.get(p, "3.weight"), layout.get(p, "3.bias"), &h);
            let h: Vec<f64> = h.into_iter().map(tanh64).collect();
            linear64(layout.get(p, "5.weight"), layout.get(p, "5.bias"), &h)
        })
        .collect();
    (logits, closest_to_kink)
}

#[test]
fn classifier_network_parameter_and_input_gradients() {
    type Input = [[f32; 5]; 4];
    let mut net = Classifier::init(7);
    let mut rng = Rng::seed(30);
    let batch = 5;
    let inputs: Vec<Input> = random_batch(&mut rng, batch, -1.0, 1.0);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(3)).collect();

    let mut workspace = Workspace::<Classifier, Input, usize>::new();
    // A larger batch first: the gradients of the second call must not depend on the first
    // (no accumulation, no stale cache rows).
    let warm_up: Vec<Input> = random_batch(&mut rng, 8, -1.0, 1.0);
    workspace.compute_grads(&mut net, &CrossEntropy, &warm_up, &[0, 1, 2, 0, 1, 2, 0, 1]);
    let value = workspace.compute_grads(&mut net, &CrossEntropy, &inputs, &labels);

    let (layout, params) = Layout::of(&net);
    let x = flat64(&inputs);
    let mean_loss = |p: &[f64], x: &[f64]| -> f64 {
        let (logits, _) = classifier64(&layout, p, x);
        logits
            .iter()
            .zip(&labels)
            .map(|(l, &label)| cross_entropy64(l, label))
            .sum::<f64>()
            / batch as f64
    };
    let (logits, closest_to_kink) = classifier64(&layout, &params, &x);
    // A step of 1e-6 in one first-layer weight, bias or input moves a ReLU input by at most 1e-6
    // (inputs and first-layer weights are below 1 in magnitude), and later layers do not feed it:
    // with every ReLU input more than 1e-3 from 0, no central difference straddles the kink.
    assert!(
        closest_to_kink > 1e-3,
        "a ReLU input is {closest_to_kink:e} from 0: choose other seeds"
    );
    for (sample, logits) in inputs.iter().zip(&logits) {
        check_forward("Classifier forward", &net.forward(sample), logits);
    }
    check_forward("Classifier mean loss", &[value], &[mean_loss(&params, &x)]);

    let params_worst = check_network_params("Classifier", &net, workspace.grads(), &mut rng, |p| mean_loss(p, &x));
    // The input gradient, through the generated chain's `backward_batch` (the workspace does not
    // ask for it).
    let input_worst = check_cross_entropy_input_grad("Classifier", &net, &inputs, &labels, |x| mean_loss(&params, x));
    println!(
        "classifier network: worst scaled error {:.3e}",
        params_worst.max(input_worst)
    );
}

network! {
    /// A regression network ending in Sigmoid, trained with Mse, from a rank-3 input.
    struct Regressor: [2, 3, 2] => Flatten -> Linear<12, 10> -> Tanh -> Linear<10, 4> -> Sigmoid
}

#[test]
fn sigmoid_mse_network_parameter_gradients() {
    type Input = [[[f32; 2]; 3]; 2];
    let mut net = Regressor::init(8);
    let mut rng = Rng::seed(31);
    let batch = 5;
    let inputs: Vec<Input> = random_batch(&mut rng, batch, -2.0, 2.0);
    let targets: Vec<[f32; 4]> = random_batch(&mut rng, batch, 0.0, 1.0);

    let mut workspace = Workspace::<Regressor, Input, [f32; 4]>::new();
    let value = workspace.compute_grads(&mut net, &Mse, &inputs, &targets);

    let (layout, params) = Layout::of(&net);
    let (x, t) = (flat64(&inputs), flat64(&targets));
    let forward = |p: &[f64]| -> Vec<f64> {
        x.chunks_exact(12)
            .flat_map(|x| {
                let h = linear64(layout.get(p, "1.weight"), layout.get(p, "1.bias"), x);
                let h: Vec<f64> = h.into_iter().map(tanh64).collect();
                let y = linear64(layout.get(p, "3.weight"), layout.get(p, "3.bias"), &h);
                y.into_iter().map(sigmoid64)
            })
            .collect()
    };
    let outputs: Vec<[f32; 4]> = inputs.iter().map(|sample| net.forward(sample)).collect();
    check_forward("Regressor forward", outputs.as_flattened(), &forward(&params));
    check_forward("Regressor mean loss", &[value], &[mse64(&forward(&params), &t)]);

    let worst = check_network_params("Regressor", &net, workspace.grads(), &mut rng, |p| {
        mse64(&forward(p), &t)
    });
    println!("sigmoid/mse network: worst scaled error {worst:.3e}");
}

// ---------------------------------------------------------------------------------------------
// The check itself
// ---------------------------------------------------------------------------------------------

/// The comparison rejects the gradients that typical backward-pass bugs produce, built here from
/// the library's correct ones: so a passing test above means the bug is absent.
#[test]
fn the_check_rejects_typical_gradient_bugs() {
    // Linear<6, 6>: square, so a transposed weight gradient has the right length.
    let mut rng = Rng::seed(40);
    let layer = Linear::<6, 6>::init_with(&mut rng);
    let inputs: Vec<[f32; 6]> = random_batch(&mut rng, 3, -1.0, 1.0);
    let coeffs: Vec<[f32; 6]> = random_batch(&mut rng, 3, -1.0, 1.0);
    let mut outputs = vec![[0.0; 6]; 3];
    layer.forward_batch(&inputs, &mut outputs, &mut (), Mode::Train);
    let mut grads = Linear::<6, 6>::zeros();
    layer.backward_batch(&inputs, &outputs, &coeffs, None, &mut (), &mut grads);
    let (w, b, x, c) = (
        to_f64(layer.weight.as_flattened()),
        to_f64(&layer.bias[..]),
        flat64(&inputs),
        flat64(&coeffs),
    );
    let objective = |w: &[f64]| {
        dot(
            &c,
            &x.chunks_exact(6).flat_map(|x| linear64(w, &b, x)).collect::<Vec<_>>(),
        )
    };
    let numeric = numeric_grad(&w, &all(36), objective);
    let analytic = to_f64(grads.weight.as_flattened());
    assert!(passes(&analytic, &numeric));
    let transposed: Vec<f64> = (0..36).map(|i| analytic[(i % 6) * 6 + i / 6]).collect();
    assert!(!passes(&transposed, &numeric), "a transposed weight gradient passes");
    let negated: Vec<f64> = analytic.iter().map(|a| -a).collect();
    assert!(!passes(&negated, &numeric), "a sign error passes");
    let mut one_wrong = analytic.clone();
    one_wrong[17] = -one_wrong[17];
    assert!(!passes(&one_wrong, &numeric), "a sign error in one entry passes");

    // CrossEntropy without the division by the batch size (the sum instead of the mean).
    let logits: Vec<[f32; 4]> = random_batch(&mut rng, 5, -2.0, 2.0);
    let labels = [0, 3, 1, 1, 2];
    let mut grad = vec![[0.0; 4]; 5];
    CrossEntropy.loss_and_grad(&logits, &labels, &mut grad);
    let mean_loss = |x: &[f64]| {
        x.chunks_exact(4)
            .zip(&labels)
            .map(|(l, &label)| cross_entropy64(l, label))
            .sum::<f64>()
            / 5.0
    };
    let numeric = numeric_grad(&flat64(&logits), &all(20), mean_loss);
    let analytic = flat64(&grad);
    assert!(passes(&analytic, &numeric));
    let summed: Vec<f64> = analytic.iter().map(|a| 5.0 * a).collect();
    assert!(!passes(&summed, &numeric), "a gradient of the summed loss passes");

    // Sigmoid's derivative taken as y instead of y (1 - y).
    let inputs: Vec<[f32; 8]> = random_batch(&mut rng, 2, -3.0, 3.0);
    let ones = vec![[1.0f32; 8]; 2];
    let mut outputs = vec![[0.0; 8]; 2];
    Sigmoid.forward_batch(&inputs, &mut outputs, &mut (), Mode::Train);
    let mut grad_input = vec![[0.0; 8]; 2];
    Sigmoid.backward_batch(&inputs, &outputs, &ones, Some(&mut grad_input), &mut (), &mut Sigmoid);
    let numeric = numeric_grad(&flat64(&inputs), &all(16), |x| x.iter().map(|&v| sigmoid64(v)).sum());
    assert!(passes(&flat64(&grad_input), &numeric));
    assert!(
        !passes(&flat64(&outputs), &numeric),
        "a wrong sigmoid derivative passes"
    );
}
