//! Finite-difference gradient checks of the normalization layers and the activations, by the
//! method of `tests/gradcheck.rs` (an f64 reimplementation of each forward pass written here,
//! central differences of `L = sum c * y`, the tolerance of `tests/common/gradcheck.rs`), and
//! the accuracy of the exact GELU against an independent f64 `erf`.
//!
//! Batch norm is checked in training mode, where the gradient flows through the batch's mean
//! and variance (the f64 reference recomputes them from the perturbed batch), and in evaluation
//! mode, where the running statistics are constants. Run with
//! `cargo test --test norm_gradcheck -- --nocapture` to see the worst error of each check.

mod common;

use common::gradcheck::{check_layer, check_layer_in, check_network_params, random, random_batch, Layout};
use common::seq::Seq;
use nn::loss::CrossEntropy;
use nn::prelude::*;
use nn::train::Workspace;
use nn::{Mode, Rng};

// ---------------------------------------------------------------------------------------------
// f64 references
// ---------------------------------------------------------------------------------------------

/// `erf(z)` by its Maclaurin series `2/sqrt(pi) sum (-1)^n z^(2n+1) / (n! (2n+1))` (Abramowitz
/// and Stegun 7.1.5), for `|z| <= 3`: the largest term is below 100, so the alternating sum
/// loses at most 2 of f64's 16 digits.
fn erf_maclaurin(z: f64) -> f64 {
    let (mut power, mut sum) = (z, z);
    for n in 1..200 {
        power *= -z * z / n as f64;
        let term = power / (2 * n + 1) as f64;
        sum += term;
        if term.abs() < 1e-18 {
            break;
        }
    }
    std::f64::consts::FRAC_2_SQRT_PI * sum
}

/// `erfc(z)` for `z >= 3` by the continued fraction (Abramowitz and Stegun 7.1.14)
/// `erfc(z) = e^(-z^2)/sqrt(pi) * 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))`, evaluated from
/// 400 levels deep, far more than it needs to converge at `z >= 3`.
fn erfc_continued_fraction(z: f64) -> f64 {
    let mut tail = z;
    for k in (1..400).rev() {
        tail = z + (k as f64 / 2.0) / tail;
    }
    (-z * z).exp() / std::f64::consts::PI.sqrt() / tail
}

/// `erfc(z)`, relative to its value in both tails.
fn erfc64(z: f64) -> f64 {
    if z.abs() <= 3.0 {
        1.0 - erf_maclaurin(z)
    } else if z > 0.0 {
        erfc_continued_fraction(z)
    } else {
        2.0 - erfc_continued_fraction(-z)
    }
}

fn gelu64(x: f64) -> f64 {
    0.5 * x * erfc64(-x / std::f64::consts::SQRT_2)
}

fn gelu_tanh64(x: f64) -> f64 {
    let inner = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
    0.5 * x * (1.0 + inner.tanh())
}

fn silu64(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// `f` on each row of `n` values of a flat batch.
fn rows(x: &[f64], n: usize, f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    x.chunks_exact(n).flat_map(f).collect()
}

fn softmax64(row: &[f64]) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = row.iter().map(|x| (x - max).exp()).sum();
    row.iter().map(|x| (x - max).exp() / sum).collect()
}

fn log_softmax64(row: &[f64]) -> Vec<f64> {
    softmax64(row).into_iter().map(f64::ln).collect()
}

/// `(x - mean) / sqrt(var + 1e-5) * weight + bias` over one row, biased variance.
fn layer_norm64(row: &[f64], weight: &[f64], bias: &[f64]) -> Vec<f64> {
    let n = row.len() as f64;
    let mean = row.iter().sum::<f64>() / n;
    let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let inv_std = 1.0 / (var + 1e-5).sqrt();
    (0..row.len())
        .map(|i| (row[i] - mean) * inv_std * weight[i] + bias[i])
        .collect()
}

/// Batch norm of a flat `[batch, channels, spatial]` batch: with the batch's mean and biased
/// variance per channel (`training`), or with `running_mean` and `running_var`.
fn batch_norm64(layout: &Layout, p: &[f64], x: &[f64], channels: usize, spatial: usize, training: bool) -> Vec<f64> {
    let (weight, bias) = (layout.get(p, "weight"), layout.get(p, "bias"));
    let channel_of = |i: usize| (i / spatial) % channels;
    let (mean, var): (Vec<f64>, Vec<f64>) = if training {
        let n = (x.len() / channels) as f64;
        let mut mean = vec![0.0; channels];
        x.iter().enumerate().for_each(|(i, v)| mean[channel_of(i)] += v / n);
        let mut var = vec![0.0; channels];
        x.iter()
            .enumerate()
            .for_each(|(i, v)| var[channel_of(i)] += (v - mean[channel_of(i)]).powi(2) / n);
        (mean, var)
    } else {
        (
            layout.get(p, "running_mean").to_vec(),
            layout.get(p, "running_var").to_vec(),
        )
    };
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            let c = channel_of(i);
            (v - mean[c]) / (var[c] + 1e-5).sqrt() * weight[c] + bias[c]
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

/// An element-wise layer on a rank-1 and a rank-3 input (values in `[-range, range)`, at least
/// 1e-3 from 0 when `avoid_zero`, LeakyReLU's kink), against `f` on every value.
fn check_elementwise<A>(name: &str, layer: A, f: fn(f64) -> f64, seed: u64, range: f32, avoid_zero: bool) -> f64
where
    A: Layer<[f32; 9], Output = [f32; 9]> + Layer<[[[f32; 3]; 2]; 2], Output = [[[f32; 3]; 2]; 2]>,
{
    let mut rng = Rng::seed(seed);
    let reference = |_: &Layout, _: &[f64], x: &[f64]| -> Vec<f64> { x.iter().map(|&v| f(v)).collect() };
    fn draw<T: Tensor>(rng: &mut Rng, range: f32, avoid_zero: bool) -> Vec<T> {
        let mut values = random_batch::<T>(rng, 4, -range, range);
        for v in T::flat_batch_mut(&mut values) {
            while avoid_zero && v.abs() < 1e-3 {
                *v = rng.uniform(-range, range);
            }
        }
        values
    }
    let rank1: Vec<[f32; 9]> = draw(&mut rng, range, avoid_zero);
    let rank3: Vec<[[[f32; 3]; 2]; 2]> = draw(&mut rng, range, avoid_zero);
    let a = check_layer(&format!("{name} on [9]"), &layer, &rank1, &mut rng, reference);
    let b = check_layer(&format!("{name} on [2, 2, 3]"), &layer, &rank3, &mut rng, reference);
    a.max(b)
}

#[test]
fn elementwise_activation_input_gradients() {
    let worst = [
        check_elementwise("GELU", GELU::exact(), gelu64, 50, 4.0, false),
        check_elementwise("GELU tanh", GELU::tanh(), gelu_tanh64, 51, 4.0, false),
        check_elementwise("SiLU", SiLU, silu64, 52, 5.0, false),
        check_elementwise(
            "LeakyReLU(0.2)",
            LeakyReLU::new(0.2),
            |x| if x > 0.0 { x } else { 0.2 * x },
            53,
            2.0,
            true,
        ),
        check_elementwise("Identity", Identity, |x| x, 54, 2.0, false),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("activations: worst scaled error {worst:.3e}");
}

/// A custom [`Elementwise`] layer gets a correct backward pass from the trait alone.
#[derive(Debug, Clone, Copy, Default)]
struct Cube;

impl Elementwise for Cube {
    fn apply(&self, x: f32) -> f32 {
        x * x * x
    }
    fn derivative(&self, x: f32, _y: f32) -> f32 {
        3.0 * x * x
    }
}
nn::elementwise_layer!(Cube);

#[test]
fn a_custom_elementwise_layer_input_gradient() {
    let worst = check_elementwise("Cube (custom)", Cube, |x| x * x * x, 55, 1.5, false);
    println!("custom elementwise: worst scaled error {worst:.3e}");
}

#[test]
fn softmax_and_log_softmax_input_gradients() {
    let mut rng = Rng::seed(56);
    let row: Vec<[f32; 6]> = random_batch(&mut rng, 3, -3.0, 3.0);
    let sequence: Vec<[[f32; 5]; 3]> = random_batch(&mut rng, 2, -3.0, 3.0);
    let worst = [
        check_layer("Softmax on [6]", &Softmax, &row, &mut rng, |_, _, x| {
            rows(x, 6, softmax64)
        }),
        check_layer("Softmax on [3, 5]", &Softmax, &sequence, &mut rng, |_, _, x| {
            rows(x, 5, softmax64)
        }),
        check_layer("LogSoftmax on [6]", &LogSoftmax, &row, &mut rng, |_, _, x| {
            rows(x, 6, log_softmax64)
        }),
        check_layer("LogSoftmax on [3, 5]", &LogSoftmax, &sequence, &mut rng, |_, _, x| {
            rows(x, 5, log_softmax64)
        }),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("softmax: worst scaled error {worst:.3e}");
}

/// The exact GELU against [`gelu64`] on 40,001 points of `[-10, 10]`: within 1e-6 relative
/// (8 f32 ulps) where `|x| <= 2 sqrt(2)`, and within 1e-5 beyond, which is the lower tail where
/// `|GELU(x)| < 0.007` and `erfc`'s `e^(-z^2)` inherits the rounding of `z^2` in f32. These are
/// the bounds of the branch-free f32 approximations (`erf`'s rational fit, Numerical Recipes'
/// `erfcc`, a polynomial `exp`) that let the compiler vectorise GELU over a batch.
#[test]
fn exact_gelu_is_accurate_to_f32_precision() {
    let points = (-20_000..=20_000).map(|i| i as f32 * 5e-4);
    let values = points.map(|x| (x, GELU::exact().apply(x), gelu64(f64::from(x))));
    let (worst_inner, worst_outer) = worst_relative_errors(values, 2.0 * std::f64::consts::SQRT_2);
    println!("GELU relative error: {worst_inner:.3e} for |x| <= 2.83, {worst_outer:.3e} beyond");
    assert!(worst_inner <= 1e-6, "{worst_inner:e}");
    assert!(worst_outer <= 1e-5, "{worst_outer:e}");
}

/// The largest relative errors of `(x, value, expected)` (expected 0 skipped) where `|x| <= bound`
/// and beyond.
fn worst_relative_errors(values: impl Iterator<Item = (f32, f32, f64)>, bound: f64) -> (f64, f64) {
    let (mut inner, mut outer) = (0.0f64, 0.0f64);
    for (x, value, expected) in values.filter(|&(_, _, expected)| expected != 0.0) {
        let relative = ((f64::from(value) - expected) / expected).abs();
        let worst = if f64::from(x.abs()) <= bound {
            &mut inner
        } else {
            &mut outer
        };
        *worst = worst.max(relative);
    }
    (inner, outer)
}

/// The tanh form of GELU and its derivative against f64 (`0.5 x (1 + tanh(u))` written as
/// `x s` with `s = 1 / (1 + e^(-2u))`, since in the lower tail `1 + tanh(u)` cancels to nothing
/// even in f64, and the derivative `s + 2 x u' s (1 - s)`) on 40,001 points of `[-10, 10]`: within
/// 1e-6 relative where `|x| <= 3` and 1e-4 beyond, which is the lower tail where `|GELU|` is below
/// 0.004 and `e^(-2u)` inherits the rounding of `u` times `2|u|` (up to 88 here: a few ulps of `u`
/// become a few hundred of `e^(-2u)`, under 1e-4); the derivative within
/// 1e-6 absolute. The batched paths (on blocks of values) give the scalar paths' bits.
#[test]
fn tanh_gelu_is_accurate_to_f32_precision() {
    let gelu = GELU::tanh();
    let inputs: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 5e-4).collect();
    let mut outputs = vec![0.0; inputs.len()];
    gelu.apply_all(&inputs, &mut outputs);
    let ones = vec![1.0; inputs.len()];
    let mut derivatives = vec![0.0; inputs.len()];
    gelu.derivative_all(&inputs, &outputs, &ones, &mut derivatives);
    let s = |x: f64| 1.0 / (1.0 + (-2.0 * (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).exp());
    let mut worst_derivative = 0.0f64;
    for ((&x, &y), &d) in inputs.iter().zip(&outputs).zip(&derivatives) {
        assert_eq!(gelu.apply(x).to_bits(), y.to_bits(), "GELU({x:e})");
        assert_eq!(gelu.derivative(x, y).to_bits(), d.to_bits(), "GELU'({x:e})");
        let (x64, s) = (f64::from(x), s(f64::from(x)));
        let slope = (2.0 / std::f64::consts::PI).sqrt() * (1.0 + 3.0 * 0.044715 * x64 * x64);
        let error = (f64::from(d) - (s + 2.0 * x64 * slope * s * (1.0 - s))).abs();
        assert!(error <= 1e-6, "GELU'({x:e}) = {d:e}, error {error:e}");
        worst_derivative = worst_derivative.max(error);
    }
    let values = inputs
        .iter()
        .zip(&outputs)
        .map(|(&x, &y)| (x, y, f64::from(x) * s(f64::from(x))));
    let (worst_inner, worst_outer) = worst_relative_errors(values, 3.0);
    println!("tanh GELU relative error: {worst_inner:.3e} for |x| <= 3, {worst_outer:.3e} beyond; derivative {worst_derivative:.3e}");
    assert!(worst_inner <= 1e-6, "{worst_inner:e}");
    assert!(worst_outer <= 1e-4, "{worst_outer:e}");
}

/// The exact GELU's derivative `Phi(x) + x phi(x)` against f64 (`Phi` from [`erfc64`]) on 40,001
/// points of `[-10, 10]` and on values near zero down to the smallest normal float, where the
/// backward pass cannot recover `Phi(x)` as `GELU(x) / x` and uses `Phi`'s series instead; the
/// batched paths (`apply_all`, `derivative_all`, compiled for wide vectors and run on blocks of
/// values) must give the scalar paths' bits.
#[test]
fn exact_gelu_derivative_is_accurate_to_f32_precision() {
    let gelu = GELU::exact();
    let near_zero = (0..=126).flat_map(|e| [2f32.powi(-e), -(2f32.powi(-e)), 1.5 * 2f32.powi(-e)]);
    let inputs: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 5e-4).chain(near_zero).collect();
    let outputs: Vec<f32> = inputs.iter().map(|&x| gelu.apply(x)).collect();
    let mut outputs_batched = vec![0.0; inputs.len()];
    gelu.apply_all(&inputs, &mut outputs_batched);
    for ((&x, &y), &from_batch) in inputs.iter().zip(&outputs).zip(&outputs_batched) {
        assert_eq!(y.to_bits(), from_batch.to_bits(), "GELU({x:e})");
    }
    let ones = vec![1.0; inputs.len()];
    let mut batched = vec![0.0; inputs.len()];
    gelu.derivative_all(&inputs, &outputs, &ones, &mut batched);
    let mut worst = 0.0f64;
    for ((&x, &y), &from_batch) in inputs.iter().zip(&outputs).zip(&batched) {
        let scalar = gelu.derivative(x, y);
        assert_eq!(scalar.to_bits(), from_batch.to_bits(), "x = {x:e}");
        let x64 = f64::from(x);
        let cdf = 0.5 * erfc64(-x64 / std::f64::consts::SQRT_2);
        let pdf = (-0.5 * x64 * x64).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let error = (f64::from(scalar) - (cdf + x64 * pdf)).abs();
        assert!(error <= 1e-6, "x = {x:e}: derivative {scalar:e}, error {error:e}");
        worst = worst.max(error);
    }
    println!("GELU derivative absolute error: {worst:.3e}");
}

// ---------------------------------------------------------------------------------------------
// LayerNorm
// ---------------------------------------------------------------------------------------------

#[test]
fn layer_norm_weight_bias_and_input_gradients() {
    let mut rng = Rng::seed(57);
    let mut layer = LayerNorm::<5>::init_with(&mut rng);
    // Not PyTorch's 1 and 0, so that a gradient which ignores them fails.
    *layer.weight = random(&mut rng, 0.5, 1.5);
    *layer.bias = random(&mut rng, -1.0, 1.0);
    let row: Vec<[f32; 5]> = random_batch(&mut rng, 3, -2.0, 2.0);
    let sequence: Vec<[[f32; 5]; 4]> = random_batch(&mut rng, 2, -2.0, 2.0);
    let reference =
        |l: &Layout, p: &[f64], x: &[f64]| rows(x, 5, |r| layer_norm64(r, l.get(p, "weight"), l.get(p, "bias")));
    let worst = check_layer("LayerNorm<5> on [5]", &layer, &row, &mut rng, reference).max(check_layer(
        "LayerNorm<5> on [4, 5]",
        &layer,
        &sequence,
        &mut rng,
        reference,
    ));
    println!("layer norm: worst scaled error {worst:.3e}");
}

// ---------------------------------------------------------------------------------------------
// BatchNorm
// ---------------------------------------------------------------------------------------------

/// Weight, bias and running statistics away from their initial values.
fn randomize<M: Module>(layer: &mut M, rng: &mut Rng) {
    layer.visit_params_mut("", &mut |key, _, values| {
        let (low, high) = if key == "running_var" { (0.5, 2.0) } else { (-1.0, 1.0) };
        values.iter_mut().for_each(|v| *v = rng.uniform(low, high));
    });
}

#[test]
fn batch_norm1d_gradients_in_training_and_evaluation() {
    let mut rng = Rng::seed(58);
    let mut layer = BatchNorm1d::<4>::init_with(&mut rng);
    randomize(&mut layer, &mut rng);
    // Inputs with a non-zero mean, as after a Linear layer.
    let inputs: Vec<[f32; 4]> = random_batch(&mut rng, 6, -1.0, 3.0);
    let train = check_layer_in(
        "BatchNorm1d<4> train",
        &layer,
        &inputs,
        &mut rng,
        Mode::Train,
        false,
        |l, p, x| batch_norm64(l, p, x, 4, 1, true),
    );
    let eval = check_layer_in(
        "BatchNorm1d<4> eval",
        &layer,
        &inputs,
        &mut rng,
        Mode::Eval,
        true,
        |l, p, x| batch_norm64(l, p, x, 4, 1, false),
    );
    println!("batch norm 1d: worst scaled error {:.3e}", train.max(eval));
}

#[test]
fn batch_norm2d_gradients_in_training_and_evaluation() {
    let mut rng = Rng::seed(59);
    let mut layer = BatchNorm2d::<3>::init_with(&mut rng);
    randomize(&mut layer, &mut rng);
    let inputs: Vec<[[[f32; 3]; 2]; 3]> = random_batch(&mut rng, 3, -1.0, 3.0);
    let train = check_layer_in(
        "BatchNorm2d<3> train",
        &layer,
        &inputs,
        &mut rng,
        Mode::Train,
        false,
        |l, p, x| batch_norm64(l, p, x, 3, 6, true),
    );
    let eval = check_layer_in(
        "BatchNorm2d<3> eval",
        &layer,
        &inputs,
        &mut rng,
        Mode::Eval,
        true,
        |l, p, x| batch_norm64(l, p, x, 3, 6, false),
    );
    println!("batch norm 2d: worst scaled error {:.3e}", train.max(eval));
}

/// `Linear<5, 4> -> Tanh -> BatchNorm1d<4> -> Linear<4, 3>` trained on cross-entropy through the
/// `Workspace`: the parameter gradients against central differences of the f64 mean loss,
/// with batch statistics; the running statistics the step updated must not change them. (The
/// Tanh keeps the first bias from being cancelled by the batch mean: directly before a batch
/// norm a bias has a zero gradient, and the check would be vacuous.)
#[test]
fn network_with_batch_norm_parameter_gradients() {
    type Net = Seq<Seq<Linear<5, 4>, Tanh>, Seq<BatchNorm1d<4>, Linear<4, 3>>>;
    let mut rng = Rng::seed(60);
    let mut net = Net::init_with(&mut rng);
    randomize(&mut net.second.first, &mut rng);
    let inputs: Vec<[f32; 5]> = random_batch(&mut rng, 6, -1.0, 1.0);
    let labels: Vec<usize> = (0..6).map(|_| rng.below(3)).collect();
    let before = net.clone();
    let mut workspace = Workspace::<Net, [f32; 5], usize>::new();
    workspace.compute_grads(&mut net, &CrossEntropy, &inputs, &labels);
    assert_eq!(
        net.second.first.num_batches_tracked, 1,
        "compute_grads updates the statistics"
    );
    assert_ne!(net.second.first.running_mean, before.second.first.running_mean);

    let (layout, _) = Layout::of(&before);
    let x: Vec<f64> = inputs.as_flattened().iter().map(|&v| f64::from(v)).collect();
    let mean_loss = |p: &[f64]| -> f64 {
        let hidden = rows(&x, 5, |x| {
            let h = common::gradcheck::linear64(layout.get(p, "0.0.weight"), layout.get(p, "0.0.bias"), x);
            h.into_iter().map(f64::tanh).collect()
        });
        let norm = Layout {
            tensors: layout
                .tensors
                .iter()
                .filter_map(|(key, shape, range)| {
                    key.strip_prefix("1.0.")
                        .map(|k| (k.to_string(), shape.clone(), range.clone()))
                })
                .collect(),
        };
        let normed = batch_norm64(&norm, p, &hidden, 4, 1, true);
        let logits = rows(&normed, 4, |h| {
            common::gradcheck::linear64(layout.get(p, "1.1.weight"), layout.get(p, "1.1.bias"), h)
        });
        logits
            .chunks_exact(3)
            .zip(&labels)
            .map(|(l, &label)| common::gradcheck::cross_entropy64(l, label))
            .sum::<f64>()
            / labels.len() as f64
    };
    let worst = check_network_params(
        "Linear -> Tanh -> BatchNorm1d -> Linear",
        &before,
        workspace.grads(),
        &mut rng,
        mean_loss,
    );
    println!("network with batch norm: worst scaled error {worst:.3e}");
}
