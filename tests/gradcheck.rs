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
//! The tolerance (see [`TOL`]) is `|analytic - numeric| <= 1e-4 * max(|numeric|, min(1, M))`
//! with `M` the largest `|numeric|` of the tensor checked, and every check also asserts that it is
//! able to fail: the finite differences of a tensor must not all be negligible, and the same
//! check applied to the negated or doubled analytic gradient must be rejected (see [`check`]
//! and `the_check_rejects_typical_gradient_bugs`).
//!
//! Run with `cargo test --test gradcheck -- --nocapture` to see the worst error of each check.

use nn::loss::{CrossEntropy, Loss, Mse};
use nn::prelude::*;
use nn::train::Workspace;
use nn::{Mode, Rng};

/// Step of the central differences, in f64.
///
/// Truncation error of a central difference is `h^2 / 6 * |f'''|`, about 1e-13 here; the
/// cancellation error is about `eps_f64 * |L| / h`, about 1e-16 * 10 / 1e-6 = 1e-9. Both are far
/// below the f32 rounding in the analytic gradients, so the finite difference serves as the exact
/// reference.
const H: f64 = 1e-6;

/// Allowed error: `|analytic - numeric| <= TOL * max(|numeric|, min(1, M))`, where `M` is the
/// largest `|numeric|` of the tensor checked.
///
/// The analytic gradients are computed in f32 (unit roundoff 6e-8) as sums of at most a few
/// hundred products, through at most a handful of layers, so their rounding error is at most
/// about 1e-6 relative to the scale of the gradients involved (the f32 forward pass they start
/// from differs from the f64 one by the same order); the finite differences are exact by
/// comparison (see [`H`]). 1e-4 leaves a margin of about 100 over that estimate (the worst
/// error seen is 2.5e-7), while every bug this file is meant to catch (a sign, a missing or
/// extra factor such as the batch mean, a transposed index, a wrong derivative) changes the
/// gradient by an amount of the order of the gradient itself.
///
/// This is `|a - n| <= 1e-4 * max(1, |n|)` (absolute below 1, relative above), tightened for
/// tensors whose gradients are all well below 1, as a network's mean-loss gradients are (about
/// 1e-2): there the absolute floor is `1e-4 * M` instead of 1e-4, so the check stays relative to
/// the tensor's own scale and, say, a 1% error in the largest entries cannot pass.
const TOL: f64 = 1e-4;

/// The largest finite difference in each checked tensor must reach this, so that no check is
/// vacuous (a tensor of near-zero gradients, e.g. behind dead ReLUs, proves little).
const MIN_SCALE: f64 = 1e-3;

/// ReLU inputs are drawn at least this far from its kink at 0, where it has no derivative and a
/// central difference straddling the kink would average the two one-sided slopes.
const KINK_MARGIN: f32 = 1e-3;

// ---------------------------------------------------------------------------------------------
// Helpers: data, finite differences, comparison
// ---------------------------------------------------------------------------------------------

/// A tensor of values uniform in `[low, high)`.
fn random<T: Tensor>(rng: &mut Rng, low: f32, high: f32) -> T {
    let mut tensor = T::zeros();
    tensor.flat_mut().iter_mut().for_each(|v| *v = rng.uniform(low, high));
    tensor
}

/// A batch of [`random`] tensors.
fn random_batch<T: Tensor>(rng: &mut Rng, batch: usize, low: f32, high: f32) -> Vec<T> {
    (0..batch).map(|_| random(rng, low, high)).collect()
}

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

fn to_f64(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// A batch of tensors as one flat row-major f64 vector.
fn flat64<T: Tensor>(batch: &[T]) -> Vec<f64> {
    to_f64(T::flat_batch(batch))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Central differences of `f` at `point` along the coordinates `indices`: the expected
/// gradients of every check.
fn numeric_grad(point: &[f64], indices: &[usize], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut p = point.to_vec();
    indices
        .iter()
        .map(|&i| {
            let (up, down) = (point[i] + H, point[i] - H);
            p[i] = up;
            let f_up = f(&p);
            p[i] = down;
            let f_down = f(&p);
            p[i] = point[i];
            // Divide by the step actually taken (`up - down` is 2h up to rounding of `point[i] ± h`).
            (f_up - f_down) / (up - down)
        })
        .collect()
}

fn all(len: usize) -> Vec<usize> {
    (0..len).collect()
}

/// Up to `count` distinct indices of `0..len`, pseudo-random but fixed by `rng`, sorted.
fn sample(rng: &mut Rng, len: usize, count: usize) -> Vec<usize> {
    let mut indices = all(len);
    rng.shuffle(&mut indices);
    indices.truncate(count);
    indices.sort_unstable();
    indices
}

/// How far an analytic gradient is from the numeric one.
struct Agreement {
    /// max over entries of `|a - n| / max(|n|, min(1, M))`: what [`TOL`] bounds.
    worst: f64,
    /// The entry where `worst` is reached.
    worst_index: usize,
    /// max over entries with `|n| >= MIN_SCALE` of `|a - n| / |n|`: the plain relative error.
    worst_relative: f64,
    /// max over entries of `|n|`.
    largest: f64,
}

fn agreement(analytic: &[f64], numeric: &[f64]) -> Agreement {
    assert_eq!(
        analytic.len(),
        numeric.len(),
        "analytic and numeric gradients differ in length"
    );
    let largest = numeric.iter().fold(0.0, |m: f64, n| m.max(n.abs()));
    let floor = largest.min(1.0);
    let mut result = Agreement {
        worst: 0.0,
        worst_index: 0,
        worst_relative: 0.0,
        largest,
    };
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let error = (a - n).abs();
        let scaled = error / n.abs().max(floor);
        // A NaN anywhere becomes the worst error, and fails the check.
        if scaled > result.worst || scaled.is_nan() {
            result.worst = scaled;
            result.worst_index = i;
        }
        if n.abs() >= MIN_SCALE {
            result.worst_relative = result.worst_relative.max(error / n.abs());
        }
    }
    result
}

fn passes(analytic: &[f64], numeric: &[f64]) -> bool {
    agreement(analytic, numeric).worst <= TOL
}

/// Asserts that `analytic` matches the finite differences `numeric` within [`TOL`], and that the
/// check is discriminating: the finite differences are not all negligible, and the negated or
/// doubled analytic gradient would have failed it. Returns the worst scaled error.
fn check(what: &str, analytic: &[f64], numeric: &[f64]) -> f64 {
    let result = agreement(analytic, numeric);
    let i = result.worst_index;
    assert!(
        result.worst <= TOL,
        "{what}: entry {i}: analytic {} but the finite difference gives {} (error {:.3e} > {TOL:e} * max(|numeric|, min(1, {:.3e})))",
        analytic[i],
        numeric[i],
        (analytic[i] - numeric[i]).abs(),
        result.largest,
    );
    assert!(
        result.largest >= MIN_SCALE,
        "{what}: the largest finite difference is {:.3e}, below {MIN_SCALE:e}: the check could not tell a wrong gradient from a right one",
        result.largest
    );
    let negated: Vec<f64> = analytic.iter().map(|a| -a).collect();
    let doubled: Vec<f64> = analytic.iter().map(|a| 2.0 * a).collect();
    assert!(
        !passes(&negated, numeric) && !passes(&doubled, numeric),
        "{what}: the check cannot fail"
    );
    println!(
        "{what:<42} {:>4} entries  max |grad| {:.3e}  worst |a-n|/max(|n|,min(1,M)) {:.3e}  worst relative (|n|>={MIN_SCALE:e}) {:.3e}",
        analytic.len(),
        result.largest,
        result.worst,
        result.worst_relative
    );
    result.worst
}

/// Asserts that a forward pass of the library matches the f64 reimplementation used for the
/// finite differences, so that both compute the same function.
fn check_forward(what: &str, actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let error = (f64::from(a) - e).abs();
        assert!(
            error <= TOL * e.abs().max(1.0),
            "{what}: forward value {i}: library {a}, f64 reference {e}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// f64 reference implementations
// ---------------------------------------------------------------------------------------------

/// `y = W x + b` for one sample, `W` row-major `[out, in]` as PyTorch stores it.
fn linear64(weight: &[f64], bias: &[f64], x: &[f64]) -> Vec<f64> {
    assert_eq!(weight.len(), bias.len() * x.len());
    weight
        .chunks_exact(x.len())
        .zip(bias)
        .map(|(row, b)| b + dot(row, x))
        .collect()
}

fn relu64(x: f64) -> f64 {
    x.max(0.0)
}

fn sigmoid64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn tanh64(x: f64) -> f64 {
    x.tanh()
}

/// Cross-entropy of one sample: `ln sum_j exp(x_j) - x_label`, with a stable log-sum-exp.
fn cross_entropy64(logits: &[f64], label: usize) -> f64 {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = logits.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
    max + log_sum - logits[label]
}

/// `mean((y - t)^2)` over every element.
fn mse64(outputs: &[f64], targets: &[f64]) -> f64 {
    assert_eq!(outputs.len(), targets.len());
    outputs.iter().zip(targets).map(|(y, t)| (y - t) * (y - t)).sum::<f64>() / outputs.len() as f64
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/// `Linear<IN, OUT>`: gradients with respect to weight, bias and input.
fn check_linear<const IN: usize, const OUT: usize>(seed: u64, batch: usize) -> f64 {
    let name = format!("Linear<{IN}, {OUT}> batch {batch}");
    let mut rng = Rng::seed(seed);
    let layer = Linear::<IN, OUT>::init(&mut rng);
    let inputs: Vec<[f32; IN]> = random_batch(&mut rng, batch, -1.0, 1.0);
    let coeffs: Vec<[f32; OUT]> = random_batch(&mut rng, batch, -1.0, 1.0);

    let mut outputs = vec![[0.0; OUT]; batch];
    layer.forward_batch(&inputs, &mut outputs, &mut (), Mode::Train);
    // Garbage in the buffers: `backward_batch` must overwrite them, not accumulate into them.
    let mut grads = Linear::<IN, OUT>::zeros();
    grads.weight.as_flattened_mut().fill(f32::NAN);
    grads.bias.fill(f32::NAN);
    let mut grad_input = vec![[f32::NAN; IN]; batch];
    layer.backward_batch(&inputs, &outputs, &coeffs, Some(&mut grad_input), &mut (), &mut grads);

    let (w, b, x, c) = (
        to_f64(layer.weight.as_flattened()),
        to_f64(&layer.bias[..]),
        flat64(&inputs),
        flat64(&coeffs),
    );
    let forward =
        |w: &[f64], b: &[f64], x: &[f64]| -> Vec<f64> { x.chunks_exact(IN).flat_map(|x| linear64(w, b, x)).collect() };
    check_forward(&name, outputs.as_flattened(), &forward(&w, &b, &x));

    // Expected values: central differences of L = sum c * y(W, b, x) in f64.
    let objective = |w: &[f64], b: &[f64], x: &[f64]| dot(&c, &forward(w, b, x));
    let numeric_w = numeric_grad(&w, &all(w.len()), |w| objective(w, &b, &x));
    let numeric_b = numeric_grad(&b, &all(b.len()), |b| objective(&w, b, &x));
    let numeric_x = numeric_grad(&x, &all(x.len()), |x| objective(&w, &b, x));
    [
        check(
            &format!("{name} weight"),
            &to_f64(grads.weight.as_flattened()),
            &numeric_w,
        ),
        check(&format!("{name} bias"), &to_f64(&grads.bias[..]), &numeric_b),
        check(&format!("{name} input"), &flat64(&grad_input), &numeric_x),
    ]
    .into_iter()
    .fold(0.0, f64::max)
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

/// A parameterless layer `A` on input `I` (an activation or `Flatten`): gradient with respect
/// to the input, against central differences of `reference`, the layer's forward in f64 on a
/// flat batch.
fn check_input_grad<A, I>(
    name: &str,
    layer: &A,
    inputs: &[I],
    rng: &mut Rng,
    reference: impl Fn(&[f64]) -> Vec<f64>,
) -> f64
where
    A: Layer<I>,
    I: Tensor,
{
    let batch = inputs.len();
    let coeffs: Vec<A::Output> = random_batch(rng, batch, -1.0, 1.0);
    let mut outputs = vec![A::Output::zeros(); batch];
    let mut cache = A::Cache::default();
    layer.forward_batch(inputs, &mut outputs, &mut cache, Mode::Train);
    let mut grad_input = vec![I::zeros(); batch];
    I::flat_batch_mut(&mut grad_input).fill(f32::NAN); // must be overwritten
    let mut grads = A::zeros();
    layer.backward_batch(inputs, &outputs, &coeffs, Some(&mut grad_input), &mut cache, &mut grads);

    let (x, c) = (flat64(inputs), flat64(&coeffs));
    check_forward(name, <A::Output as Tensor>::flat_batch(&outputs), &reference(&x));
    // Expected values: central differences of L = sum c * y(x) in f64.
    let numeric = numeric_grad(&x, &all(x.len()), |x| dot(&c, &reference(x)));
    check(&format!("{name} input"), &flat64(&grad_input), &numeric)
}

/// An element-wise activation on a rank-1 and a rank-3 input.
fn check_activation<A>(name: &str, layer: A, f: fn(f64) -> f64, seed: u64, range: f32, avoid_zero: bool) -> f64
where
    A: Layer<[f32; 9], Output = [f32; 9]> + Layer<[[[f32; 3]; 2]; 2], Output = [[[f32; 3]; 2]; 2]>,
{
    let mut rng = Rng::seed(seed);
    let reference = |x: &[f64]| -> Vec<f64> { x.iter().map(|&v| f(v)).collect() };
    fn draw<T: Tensor>(rng: &mut Rng, range: f32, avoid_zero: bool) -> Vec<T> {
        if avoid_zero {
            random_batch_away_from_zero(rng, 4, -range, range)
        } else {
            random_batch(rng, 4, -range, range)
        }
    }
    let rank1: Vec<[f32; 9]> = draw(&mut rng, range, avoid_zero);
    let rank3: Vec<[[[f32; 3]; 2]; 2]> = draw(&mut rng, range, avoid_zero);
    let a = check_input_grad(&format!("{name} on [9]"), &layer, &rank1, &mut rng, reference);
    let b = check_input_grad(&format!("{name} on [2, 2, 3]"), &layer, &rank3, &mut rng, reference);
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
    let identity = |x: &[f64]| x.to_vec();
    let inputs_2d: Vec<[[f32; 5]; 3]> = random_batch(&mut rng, 4, -1.0, 1.0);
    let a = check_input_grad(
        "Flatten<15> from [3, 5]",
        &Flatten::<15>,
        &inputs_2d,
        &mut rng,
        identity,
    );
    let inputs_3d: Vec<[[[f32; 4]; 3]; 2]> = random_batch(&mut rng, 3, -1.0, 1.0);
    let b = check_input_grad(
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

/// Where each parameter tensor of a network lives in one flat f64 vector, in `visit_params` order.
struct Layout {
    tensors: Vec<(String, Vec<usize>, std::ops::Range<usize>)>,
}

impl Layout {
    /// The layout of `module`'s parameters and their values converted to f64.
    fn of<M: Module>(module: &M) -> (Layout, Vec<f64>) {
        let mut layout = Layout { tensors: Vec::new() };
        let mut values = Vec::new();
        module.visit_params("", &mut |key, shape, tensor| {
            let start = values.len();
            values.extend(tensor.iter().map(|&v| f64::from(v)));
            layout
                .tensors
                .push((key.to_string(), shape.to_vec(), start..values.len()));
        });
        (layout, values)
    }

    /// The values of tensor `key` within `values`.
    fn get<'a>(&self, values: &'a [f64], key: &str) -> &'a [f64] {
        let (_, _, range) = self
            .tensors
            .iter()
            .find(|(k, _, _)| k == key)
            .unwrap_or_else(|| panic!("no parameter {key}"));
        &values[range.clone()]
    }
}

/// Compares every bias entry and up to 40 sampled entries of every other tensor of the
/// network's analytic gradients with central differences of `loss`, the f64 mean loss as a
/// function of the flat parameter vector.
fn check_network_params<N: Module>(name: &str, net: &N, grads: &N, rng: &mut Rng, loss: impl Fn(&[f64]) -> f64) -> f64 {
    let (layout, params) = Layout::of(net);
    let (grad_layout, analytic) = Layout::of(grads);
    assert_eq!(
        layout.tensors.iter().map(|t| (&t.0, &t.1)).collect::<Vec<_>>(),
        grad_layout.tensors.iter().map(|t| (&t.0, &t.1)).collect::<Vec<_>>(),
        "the gradients are not shaped like the network"
    );
    let mut worst: f64 = 0.0;
    for (key, shape, range) in &layout.tensors {
        let indices: Vec<usize> = if shape.len() == 1 {
            all(range.len())
        } else {
            sample(rng, range.len(), 40)
        };
        let global: Vec<usize> = indices.iter().map(|i| range.start + i).collect();
        let analytic: Vec<f64> = global.iter().map(|&i| analytic[i]).collect();
        // Expected values: central differences of the f64 mean loss of the whole network.
        let numeric = numeric_grad(&params, &global, &loss);
        worst = worst.max(check(&format!("{name} {key}"), &analytic, &numeric));
    }
    worst
}

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
    let net = Classifier::init(7);
    let mut rng = Rng::seed(30);
    let batch = 5;
    let inputs: Vec<Input> = random_batch(&mut rng, batch, -1.0, 1.0);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(3)).collect();

    let mut workspace = Workspace::<Classifier, Input, usize>::new();
    // A larger batch first: the gradients of the second call must not depend on the first
    // (no accumulation, no stale cache rows).
    let warm_up: Vec<Input> = random_batch(&mut rng, 8, -1.0, 1.0);
    workspace.compute_grads(&net, &CrossEntropy, &warm_up, &[0, 1, 2, 0, 1, 2, 0, 1]);
    let value = workspace.compute_grads(&net, &CrossEntropy, &inputs, &labels);

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

    let mut worst = check_network_params("Classifier", &net, workspace.grads(), &mut rng, |p| mean_loss(p, &x));

    // The input gradient, through the generated chain's `backward_batch` (the workspace does not
    // ask for it).
    let mut cache = <Classifier as Layer<Input>>::Cache::default();
    let mut outputs = vec![[0.0f32; 3]; batch];
    net.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Train);
    let mut grad_outputs = vec![[0.0f32; 3]; batch];
    CrossEntropy.loss_and_grad(&outputs, &labels, &mut grad_outputs);
    let mut grad_input = vec![[[f32::NAN; 5]; 4]; batch];
    let mut grads = Classifier::zeros();
    net.backward_batch(
        &inputs,
        &outputs,
        &grad_outputs,
        Some(&mut grad_input),
        &mut cache,
        &mut grads,
    );
    // Expected values: central differences of the f64 mean loss with respect to the inputs.
    let numeric = numeric_grad(&x, &all(x.len()), |x| mean_loss(&params, x));
    worst = worst.max(check("Classifier input", &flat64(&grad_input), &numeric));
    println!("classifier network: worst scaled error {worst:.3e}");
}

network! {
    /// A regression network ending in Sigmoid, trained with Mse, from a rank-3 input.
    struct Regressor: [2, 3, 2] => Flatten -> Linear<12, 10> -> Tanh -> Linear<10, 4> -> Sigmoid
}

#[test]
fn sigmoid_mse_network_parameter_gradients() {
    type Input = [[[f32; 2]; 3]; 2];
    let net = Regressor::init(8);
    let mut rng = Rng::seed(31);
    let batch = 5;
    let inputs: Vec<Input> = random_batch(&mut rng, batch, -2.0, 2.0);
    let targets: Vec<[f32; 4]> = random_batch(&mut rng, batch, 0.0, 1.0);

    let mut workspace = Workspace::<Regressor, Input, [f32; 4]>::new();
    let value = workspace.compute_grads(&net, &Mse, &inputs, &targets);

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
    let layer = Linear::<6, 6>::init(&mut rng);
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
