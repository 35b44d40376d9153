//! The finite-difference machinery of the gradient checks (`tests/gradcheck.rs`, which states
//! the method, `tests/conv_gradcheck.rs` and `tests/loss_gradcheck.rs`): random data, central
//! differences, the comparison and its tolerance, the checks of one layer and of a whole
//! network, and the f64 references more than one of them needs.

use nn::loss::{CrossEntropy, Loss};
use nn::{Layer, Mode, Module, Rng, Tensor};

use super::backward_in;

/// Step of the central differences, in f64.
///
/// Truncation error of a central difference is `h^2 / 6 * |f'''|`, about 1e-13 here; the
/// cancellation error is about `eps_f64 * |L| / h`, about 1e-16 * 10 / 1e-6 = 1e-9. Both are far
/// below the f32 rounding in the analytic gradients, so the finite difference serves as the exact
/// reference.
pub const H: f64 = 1e-6;

/// Allowed error: `|analytic - numeric| <= TOL * max(|numeric|, min(1, M))`, where `M` is the
/// largest `|numeric|` of the tensor checked.
///
/// The analytic gradients are computed in f32 (unit roundoff 6e-8) as sums of at most a few
/// hundred products (a weight gradient of `Conv2d<3, 4, 3>` on `[3, 7, 8]` sums 3 x 16 of them),
/// through at most a handful of layers, so their rounding error is at most about 1e-6 relative to
/// the scale of the gradients involved (the f32 forward pass they start from differs from the f64
/// one by the same order); the finite differences are exact by comparison (see [`H`]). 1e-4
/// leaves a margin of about 100 over that estimate (the worst error seen is 2.5e-7 in
/// `tests/gradcheck.rs`, 6.7e-7 in `tests/conv_gradcheck.rs`), while every bug these checks are
/// meant to catch (a sign, a missing or extra factor such as the batch mean or an average pool's
/// 1/K^2, a transposed index, a flipped kernel, a wrong offset or stride, a wrong derivative)
/// changes the gradient by an amount of the order of the gradient itself.
///
/// This is `|a - n| <= 1e-4 * max(1, |n|)` (absolute below 1, relative above), tightened for
/// tensors whose gradients are all well below 1, as a network's mean-loss gradients are (about
/// 1e-2): there the absolute floor is `1e-4 * M` instead of 1e-4, so the check stays relative to
/// the tensor's own scale and, say, a 1% error in the largest entries cannot pass.
pub const TOL: f64 = 1e-4;

/// The largest finite difference in each checked tensor must reach this, so that no check is
/// vacuous (a tensor of near-zero gradients, e.g. behind dead ReLUs, proves little).
pub const MIN_SCALE: f64 = 1e-3;

// ---------------------------------------------------------------------------------------------
// Data, finite differences, comparison
// ---------------------------------------------------------------------------------------------

/// A tensor of values uniform in `[low, high)`.
pub fn random<T: Tensor>(rng: &mut Rng, low: f32, high: f32) -> T {
    let mut tensor = T::zeros();
    tensor.flat_mut().iter_mut().for_each(|v| *v = rng.uniform(low, high));
    tensor
}

/// A batch of [`random`] tensors.
pub fn random_batch<T: Tensor>(rng: &mut Rng, batch: usize, low: f32, high: f32) -> Vec<T> {
    (0..batch).map(|_| random(rng, low, high)).collect()
}

pub fn to_f64(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// A batch of tensors as one flat row-major f64 vector.
pub fn flat64<T: Tensor>(batch: &[T]) -> Vec<f64> {
    to_f64(T::flat_batch(batch))
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Central differences of `f` at `point` along the coordinates `indices`: the expected
/// gradients of every check.
pub fn numeric_grad(point: &[f64], indices: &[usize], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
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

/// Every index of `0..len`.
pub fn all(len: usize) -> Vec<usize> {
    (0..len).collect()
}

/// Up to `count` distinct indices of `0..len`, pseudo-random but fixed by `rng`, sorted.
pub fn sample(rng: &mut Rng, len: usize, count: usize) -> Vec<usize> {
    let mut indices = all(len);
    rng.shuffle(&mut indices);
    indices.truncate(count);
    indices.sort_unstable();
    indices
}

/// How far an analytic gradient is from the numeric one.
pub struct Agreement {
    /// max over entries of `|a - n| / max(|n|, min(1, M))`: what [`TOL`] bounds.
    pub worst: f64,
    /// The entry where `worst` is reached.
    pub worst_index: usize,
    /// max over entries with `|n| >= MIN_SCALE` of `|a - n| / |n|`: the plain relative error.
    pub worst_relative: f64,
    /// max over entries of `|n|` (`M`).
    pub largest: f64,
}

pub fn agreement(analytic: &[f64], numeric: &[f64]) -> Agreement {
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

/// Whether `analytic` is within [`TOL`] of `numeric`: what [`check`] asserts, without the rest.
pub fn passes(analytic: &[f64], numeric: &[f64]) -> bool {
    agreement(analytic, numeric).worst <= TOL
}

/// Asserts that `analytic` matches the finite differences `numeric` within [`TOL`], and that the
/// check is discriminating: the finite differences are not all negligible, and the negated or
/// doubled analytic gradient would have failed it. Returns the worst scaled error.
pub fn check(what: &str, analytic: &[f64], numeric: &[f64]) -> f64 {
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
        "{what:<64} {:>4} entries  max |grad| {:.3e}  worst |a-n|/max(|n|,min(1,M)) {:.3e}  worst relative (|n|>={MIN_SCALE:e}) {:.3e}",
        analytic.len(),
        result.largest,
        result.worst,
        result.worst_relative
    );
    result.worst
}

/// Asserts that a forward pass (or loss value) of the library matches the f64 reimplementation
/// used for the finite differences, so that both compute the same function.
pub fn check_forward(what: &str, actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let error = (f64::from(a) - e).abs();
        assert!(
            error <= TOL * e.abs().max(1.0),
            "{what}: forward value {i}: library {a}, f64 reference {e}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters as one flat f64 vector; the checks of a layer and of a network
// ---------------------------------------------------------------------------------------------

/// Where each parameter tensor of a module lives in one flat f64 vector, in `visit_params` order.
pub struct Layout {
    pub tensors: Vec<(String, Vec<usize>, std::ops::Range<usize>)>,
}

impl Layout {
    /// The layout of `module`'s parameters and their values converted to f64.
    pub fn of<M: Module>(module: &M) -> (Layout, Vec<f64>) {
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

    /// The keys of the trainable tensors of `module` (those [`Module::zip_params`] walks; not the
    /// running statistics of a batch norm), found by the address of each tensor.
    pub fn trainable<M: Module>(module: &M) -> Vec<String> {
        let mut addresses = Vec::new();
        module
            .clone()
            .zip_params(module, &mut |_, grad| addresses.push(grad.as_ptr()));
        let mut keys = Vec::new();
        module.visit_params("", &mut |key, _, values| {
            if addresses.contains(&values.as_ptr()) {
                keys.push(key.to_string());
            }
        });
        keys
    }

    /// The values of tensor `key` within `values`.
    pub fn get<'a>(&self, values: &'a [f64], key: &str) -> &'a [f64] {
        let (_, _, range) = self
            .tensors
            .iter()
            .find(|(k, _, _)| k == key)
            .unwrap_or_else(|| panic!("no parameter {key}"));
        &values[range.clone()]
    }
}

/// `f` applied to each sample of a flat batch, concatenated.
pub fn per_sample(x: &[f64], sample_len: usize, f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    assert_eq!(x.len() % sample_len, 0);
    x.chunks_exact(sample_len).flat_map(f).collect()
}

/// The gradients of one layer: of every parameter (every entry) and of the input, against
/// central differences of `L = sum c * reference(params, x)` with coefficients `c` drawn from
/// `rng`, `reference` the layer's forward in f64 on a flat batch. Also checks `forward_batch` and
/// `forward` against `reference`. Returns the worst scaled error.
pub fn check_layer<L, I>(
    name: &str,
    layer: &L,
    inputs: &[I],
    rng: &mut Rng,
    reference: impl Fn(&Layout, &[f64], &[f64]) -> Vec<f64>,
) -> f64
where
    L: Layer<I>,
    I: Tensor,
{
    check_layer_in(name, layer, inputs, rng, Mode::Train, true, reference)
}

/// [`check_layer`] after a forward pass in `mode`, for the trainable tensors only (see
/// [`Layout::trainable`]); `forward` (one sample) is compared with `reference` only when
/// `single_sample_too` (a batch norm's `forward` is its evaluation mode).
pub fn check_layer_in<L, I>(
    name: &str,
    layer: &L,
    inputs: &[I],
    rng: &mut Rng,
    mode: Mode,
    single_sample_too: bool,
    reference: impl Fn(&Layout, &[f64], &[f64]) -> Vec<f64>,
) -> f64
where
    L: Layer<I>,
    I: Tensor,
{
    let coeffs: Vec<L::Output> = random_batch(rng, inputs.len(), -1.0, 1.0);
    let (outputs, grads, grad_input) = backward_in(layer, inputs, &coeffs, mode);

    let (layout, params) = Layout::of(layer);
    let (_, analytic) = Layout::of(&grads);
    let (x, c) = (flat64(inputs), flat64(&coeffs));
    check_forward(name, L::Output::flat_batch(&outputs), &reference(&layout, &params, &x));
    if single_sample_too {
        let single: Vec<f32> = inputs.iter().flat_map(|x| layer.forward(x).flat().to_vec()).collect();
        check_forward(
            &format!("{name} (one sample)"),
            &single,
            &reference(&layout, &params, &x),
        );
    }

    let trainable = Layout::trainable(layer);
    let mut worst: f64 = 0.0;
    for (key, _, range) in layout.tensors.iter().filter(|(key, ..)| trainable.contains(key)) {
        // Expected values: central differences of L = sum c * y(params, x) in f64.
        let numeric = numeric_grad(&params, &range.clone().collect::<Vec<_>>(), |p| {
            dot(&c, &reference(&layout, p, &x))
        });
        worst = worst.max(check(&format!("{name} {key}"), &analytic[range.clone()], &numeric));
    }
    // Expected values: central differences of L = sum c * y(params, x) in f64.
    let numeric = numeric_grad(&x, &all(x.len()), |x| dot(&c, &reference(&layout, &params, x)));
    worst.max(check(&format!("{name} input"), &flat64(&grad_input), &numeric))
}

/// Compares every bias entry and up to 40 sampled entries (drawn from `rng`) of every other tensor
/// of a network's analytic gradients `grads` with central differences of `loss`, the f64 mean
/// loss as a function of `net`'s flat parameter vector. Returns the worst scaled error.
pub fn check_network_params<N: Module>(
    name: &str,
    net: &N,
    grads: &N,
    rng: &mut Rng,
    loss: impl Fn(&[f64]) -> f64,
) -> f64 {
    let (layout, params) = Layout::of(net);
    let (grad_layout, analytic) = Layout::of(grads);
    assert_eq!(
        layout.tensors.iter().map(|t| (&t.0, &t.1)).collect::<Vec<_>>(),
        grad_layout.tensors.iter().map(|t| (&t.0, &t.1)).collect::<Vec<_>>(),
        "the gradients are not shaped like the network"
    );
    let trainable = Layout::trainable(net);
    let mut worst: f64 = 0.0;
    for (key, shape, range) in layout.tensors.iter().filter(|(key, ..)| trainable.contains(key)) {
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

/// The gradient of a network's mean cross-entropy on `inputs` and `labels` with respect to the
/// inputs, through the generated chain's `backward_batch` (`Workspace::compute_grads` does not ask
/// for it), against central differences of `mean_loss`, the f64 mean loss as a function of the
/// flat batch of inputs. Returns the worst scaled error.
pub fn check_cross_entropy_input_grad<N, I>(
    name: &str,
    net: &N,
    inputs: &[I],
    labels: &[usize],
    mean_loss: impl Fn(&[f64]) -> f64,
) -> f64
where
    N: Layer<I>,
    I: Tensor,
    CrossEntropy: Loss<N::Output, Target = usize>,
{
    let batch = inputs.len();
    let mut cache = N::Cache::default();
    let mut outputs = vec![N::Output::zeros(); batch];
    net.forward_batch(inputs, &mut outputs, &mut cache, Mode::Train);
    let mut grad_outputs = vec![N::Output::zeros(); batch];
    CrossEntropy.loss_and_grad(&outputs, labels, &mut grad_outputs);
    // NaN in the buffer: `backward_batch` must overwrite it.
    let mut grad_input = vec![I::zeros(); batch];
    I::flat_batch_mut(&mut grad_input).fill(f32::NAN);
    net.backward_batch(
        inputs,
        &outputs,
        &grad_outputs,
        Some(&mut grad_input),
        &mut cache,
        &mut N::zeros(),
    );
    // Expected values: central differences of the f64 mean loss with respect to the inputs.
    let x = flat64(inputs);
    let numeric = numeric_grad(&x, &all(x.len()), mean_loss);
    check(&format!("{name} input"), &flat64(&grad_input), &numeric)
}

// ---------------------------------------------------------------------------------------------
// f64 reference implementations
// ---------------------------------------------------------------------------------------------

/// `y = W x + b` for one sample, `W` row-major `[out, in]` as PyTorch stores it.
pub fn linear64(weight: &[f64], bias: &[f64], x: &[f64]) -> Vec<f64> {
    assert_eq!(weight.len(), bias.len() * x.len());
    weight
        .chunks_exact(x.len())
        .zip(bias)
        .map(|(row, b)| b + dot(row, x))
        .collect()
}

/// Cross-entropy of one sample: `ln sum_j exp(x_j) - x_label`, with a stable log-sum-exp.
pub fn cross_entropy64(logits: &[f64], label: usize) -> f64 {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = logits.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
    max + log_sum - logits[label]
}
