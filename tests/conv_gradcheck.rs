//! Finite-difference gradient checks of `Conv2d`, `MaxPool2d`, `AvgPool2d` and a small network
//! using all three, by the method of `tests/gradcheck.rs`:
//!
//! - The analytic gradient is what the library computes in f32 (`backward_batch`,
//!   `Workspace::compute_grads`).
//! - The expected value is never written by hand and never taken from the library: it is the
//!   central difference `(L(p + h) - L(p - h)) / 2h` of an f64 reimplementation of the forward
//!   pass written in this file (PyTorch's definitions: `conv2d` is a cross-correlation with zero
//!   padding, pooling windows start at `STRIDE * i` and sizes are floored), evaluated at the
//!   library's own f32 parameters and inputs converted to f64, with `h = 1e-6`.
//! - For a single layer `L = sum_b sum_j c[b][j] * y[b][j]` with fixed pseudo-random
//!   coefficients `c`, so `dL/dy = c` is `backward_batch`'s `grad_output`; for the network `L` is
//!   the mean cross-entropy of the batch.
//! - Tolerance [`TOL`] as in `tests/gradcheck.rs`, and every check asserts it is able to fail.
//!
//! Max pooling has no derivative where two values of a window tie, nor ReLU at 0: the inputs are
//! drawn so that no step of the finite differences crosses such a point (see [`MARGIN`]), and
//! the f64 reference asserts it.
//!
//! Run with `cargo test --test conv_gradcheck -- --nocapture` to see the worst error of each check.

use nn::loss::{CrossEntropy, Loss};
use nn::prelude::*;
use nn::train::Workspace;
use nn::{AvgPool2d, Conv2d, MaxPool2d, Mode, Rng};

/// Step of the central differences, in f64 (see `tests/gradcheck.rs`: truncation and
/// cancellation errors are both far below the f32 rounding of the analytic gradients).
const H: f64 = 1e-6;

/// Allowed error: `|analytic - numeric| <= TOL * max(|numeric|, min(1, M))`, `M` the largest
/// `|numeric|` of the tensor checked; the same bound as `tests/gradcheck.rs`, with the same
/// reasoning: the analytic gradients are f32 sums of at most a few hundred products here (a
/// weight gradient of `Conv2d<3, 4, 3>` on `[3, 7, 8]` sums 3 x 16 of them), so their rounding
/// error is about 1e-6 relative, and a real bug (a flipped kernel, a wrong offset or stride, a
/// missing 1/K^2) is of the order of the gradient itself.
const TOL: f64 = 1e-4;

/// The largest finite difference in each checked tensor must reach this (no vacuous check).
const MIN_SCALE: f64 = 1e-3;

/// Every ReLU input is at least this far from 0 and every max-pool window's maximum at least this
/// far above the window's next value (windows of ReLU zeros aside: no step moves them).
///
/// A step of `H` in one input or parameter moves a first-layer value by at most `H` (inputs and
/// first-layer weights are below 1 in magnitude), and a value of a later layer by at most `H`
/// times the sum of `|w|` over one window (below 6 for `Conv2d<3, 4, 3>`'s default init): 1e-4
/// leaves a margin of more than 10, so no central difference straddles a kink or changes which
/// value of a window is the largest.
const MARGIN: f64 = 1e-4;

// ---------------------------------------------------------------------------------------------
// Helpers: data, finite differences, comparison (as in tests/gradcheck.rs)
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

/// A batch of tensors in `[-1, 1)` whose values are all distinct within a sample, at least
/// `1 / LEN` apart: a shuffled ramp with jitter. Max pooling then has no ties.
fn distinct_batch<T: Tensor>(rng: &mut Rng, batch: usize) -> Vec<T> {
    (0..batch)
        .map(|_| {
            let mut order = all(T::LEN);
            rng.shuffle(&mut order);
            let mut tensor = T::zeros();
            for (v, &rank) in tensor.flat_mut().iter_mut().zip(&order) {
                *v = -1.0 + 2.0 * (rank as f32 + rng.uniform(0.25, 0.75)) / T::LEN as f32;
            }
            tensor
        })
        .collect()
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
    worst_index: usize,
    /// max over entries with `|n| >= MIN_SCALE` of `|a - n| / |n|`.
    worst_relative: f64,
    /// max over entries of `|n|` (`M`).
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
/// check is discriminating (finite differences not all negligible; the negated or doubled
/// analytic gradient fails). Returns the worst scaled error.
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
        "{what:<64} {:>4} entries  max |grad| {:.3e}  worst |a-n|/max(|n|,min(1,M)) {:.3e}  worst relative (|n|>={MIN_SCALE:e}) {:.3e}",
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
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let error = (f64::from(a) - e).abs();
        assert!(
            error <= TOL * e.abs().max(1.0),
            "{what}: forward value {i}: library {a}, f64 reference {e}"
        );
    }
}

/// Where each parameter tensor of a module lives in one flat f64 vector, in `visit_params` order.
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

// ---------------------------------------------------------------------------------------------
// f64 reference implementations (PyTorch's definitions)
// ---------------------------------------------------------------------------------------------

/// The sizes of one convolution or pooling of a `[channels, height, width]` sample.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl Geometry {
    /// `floor((H + 2 P - K) / S) + 1`, as `torch.nn.Conv2d` and `MaxPool2d` document.
    fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The input value at `(channel, y, x)` of the padded sample (0 in the padding).
    fn at(&self, sample: &[f64], channel: usize, y: usize, x: usize) -> f64 {
        let (y, x) = (y as isize - self.padding as isize, x as isize - self.padding as isize);
        if y < 0 || x < 0 || y >= self.height as isize || x >= self.width as isize {
            return 0.0;
        }
        sample[(channel * self.height + y as usize) * self.width + x as usize]
    }

    /// The values of window `(oy, ox)` of one channel, row by row.
    fn window(&self, sample: &[f64], channel: usize, oy: usize, ox: usize) -> Vec<f64> {
        let (top, left) = (oy * self.stride, ox * self.stride);
        (0..self.kernel)
            .flat_map(|ky| (0..self.kernel).map(move |kx| (ky, kx)))
            .map(|(ky, kx)| self.at(sample, channel, top + ky, left + kx))
            .collect()
    }
}

/// `torch.nn.functional.conv2d` of one sample: `y[o][i][j] = b[o] + sum_{c, ky, kx}
/// w[o][c][ky][kx] * x_padded[c][S i + ky][S j + kx]`, weight `[OUT, C, K, K]` row-major.
fn conv2d64(g: Geometry, weight: &[f64], bias: &[f64], x: &[f64]) -> Vec<f64> {
    let (k, out_channels) = (g.kernel, bias.len());
    assert_eq!(weight.len(), out_channels * g.channels * k * k);
    assert_eq!(x.len(), g.len());
    let mut y = Vec::with_capacity(out_channels * g.out_height() * g.out_width());
    for o in 0..out_channels {
        for oy in 0..g.out_height() {
            for ox in 0..g.out_width() {
                let mut sum = bias[o];
                for c in 0..g.channels {
                    let kernel = &weight[(o * g.channels + c) * k * k..][..k * k];
                    sum += dot(kernel, &g.window(x, c, oy, ox));
                }
                y.push(sum);
            }
        }
    }
    y
}

/// Max pooling of one sample, and the smallest gap between a window's maximum and its next value
/// over the windows whose maximum is not 0 (a window of ReLU zeros has no gap but no step moves it).
fn max_pool64(g: Geometry, x: &[f64]) -> (Vec<f64>, f64) {
    assert_eq!(x.len(), g.len());
    let mut smallest_gap = f64::INFINITY;
    let mut y = Vec::new();
    for c in 0..g.channels {
        for oy in 0..g.out_height() {
            for ox in 0..g.out_width() {
                let mut window = g.window(x, c, oy, ox);
                window.sort_by(|a, b| b.total_cmp(a));
                if window[0] != 0.0 && window.len() > 1 {
                    smallest_gap = smallest_gap.min(window[0] - window[1]);
                }
                y.push(window[0]);
            }
        }
    }
    (y, smallest_gap)
}

/// Average pooling of one sample: the mean of each window.
fn avg_pool64(g: Geometry, x: &[f64]) -> Vec<f64> {
    assert_eq!(x.len(), g.len());
    let mut y = Vec::new();
    for c in 0..g.channels {
        for oy in 0..g.out_height() {
            for ox in 0..g.out_width() {
                y.push(g.window(x, c, oy, ox).iter().sum::<f64>() / (g.kernel * g.kernel) as f64);
            }
        }
    }
    y
}

/// `f` applied to each sample of a flat batch, concatenated.
fn per_sample(x: &[f64], sample_len: usize, f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    assert_eq!(x.len() % sample_len, 0);
    x.chunks_exact(sample_len).flat_map(f).collect()
}

/// `y = W x + b` for one sample, `W` row-major `[out, in]`.
fn linear64(weight: &[f64], bias: &[f64], x: &[f64]) -> Vec<f64> {
    assert_eq!(weight.len(), bias.len() * x.len());
    weight
        .chunks_exact(x.len())
        .zip(bias)
        .map(|(row, b)| b + dot(row, x))
        .collect()
}

/// Cross-entropy of one sample: `ln sum_j exp(x_j) - x_label`, with a stable log-sum-exp.
fn cross_entropy64(logits: &[f64], label: usize) -> f64 {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = logits.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
    max + log_sum - logits[label]
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/// `forward_batch` then `backward_batch` with `grad_output = coeffs`: the outputs, the parameter
/// gradients and the input gradient. The gradient buffers start as NaN: `backward_batch` must
/// overwrite them, not accumulate into them.
fn backward<L, I>(layer: &L, inputs: &[I], coeffs: &[L::Output]) -> (Vec<L::Output>, L, Vec<I>)
where
    L: Layer<I>,
    I: Tensor,
{
    let batch = inputs.len();
    let mut outputs = vec![L::Output::zeros(); batch];
    let mut cache = L::Cache::default();
    layer.forward_batch(inputs, &mut outputs, &mut cache, Mode::Train);
    let mut grad_input = vec![I::zeros(); batch];
    I::flat_batch_mut(&mut grad_input).fill(f32::NAN);
    let mut grads = L::zeros();
    grads.visit_params_mut("", &mut |_, _, values| values.fill(f32::NAN));
    layer.backward_batch(inputs, &outputs, coeffs, Some(&mut grad_input), &mut cache, &mut grads);
    (outputs, grads, grad_input)
}

/// The gradients of one layer: of every parameter (every entry) and of the input, against
/// central differences of `L = sum c * reference(params, x)`, `reference` the layer's forward in
/// f64 on a flat batch. Returns the worst scaled error.
fn check_layer<L, I>(
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
    let coeffs: Vec<L::Output> = random_batch(rng, inputs.len(), -1.0, 1.0);
    let (outputs, grads, grad_input) = backward(layer, inputs, &coeffs);

    let (layout, params) = Layout::of(layer);
    let (_, analytic) = Layout::of(&grads);
    let (x, c) = (flat64(inputs), flat64(&coeffs));
    check_forward(name, L::Output::flat_batch(&outputs), &reference(&layout, &params, &x));
    let single: Vec<f32> = inputs.iter().flat_map(|x| layer.forward(x).flat().to_vec()).collect();
    check_forward(
        &format!("{name} (one sample)"),
        &single,
        &reference(&layout, &params, &x),
    );

    let mut worst: f64 = 0.0;
    for (key, _, range) in &layout.tensors {
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

/// `Conv2d<IN, OUT, K, S, P, HO, WO>` on `[IN, H, W]`: weight, bias and input gradients.
fn check_conv<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const HO: usize,
    const WO: usize,
>(
    seed: u64,
    batch: usize,
) -> f64
where
    Conv2d<IN, OUT, K, S, P, HO, WO>: Layer<[[[f32; W]; H]; IN], Output = [[[f32; WO]; HO]; OUT]>,
{
    let name = format!("Conv2d<{IN}, {OUT}, {K}> stride {S} padding {P} on [{IN}, {H}, {W}] batch {batch}");
    let g = Geometry {
        channels: IN,
        height: H,
        width: W,
        kernel: K,
        stride: S,
        padding: P,
    };
    assert_eq!((g.out_height(), g.out_width()), (HO, WO), "{name}: output size");
    let mut rng = Rng::seed(seed);
    let layer = Conv2d::<IN, OUT, K, S, P, HO, WO>::init(&mut rng);
    let inputs: Vec<[[[f32; W]; H]; IN]> = random_batch(&mut rng, batch, -1.0, 1.0);
    check_layer(&name, &layer, &inputs, &mut rng, |layout, p, x| {
        per_sample(x, g.len(), |x| {
            conv2d64(g, layout.get(p, "weight"), layout.get(p, "bias"), x)
        })
    })
}

#[test]
fn conv2d_weight_bias_and_input_gradients() {
    let worst = [
        // stride 1, padding 0
        check_conv::<2, 3, 3, 1, 0, 6, 5, 4, 3>(1, 3),
        // stride 1, padding 1 ("same" size)
        check_conv::<2, 3, 3, 1, 1, 5, 6, 5, 6>(2, 3),
        // stride 2, padding 0; (6 - 3) / 2 is floored: the last column is in no window
        check_conv::<3, 2, 3, 2, 0, 7, 6, 3, 2>(3, 2),
        // stride 2, padding 1
        check_conv::<3, 4, 3, 2, 1, 7, 8, 4, 4>(4, 3),
        // LeNet's first layer's shape: one input channel, 5x5, padding 2
        check_conv::<1, 2, 5, 1, 2, 6, 6, 6, 6>(5, 2),
        // a 1x1 convolution (a Linear over channels at each pixel)
        check_conv::<3, 2, 1, 1, 0, 3, 4, 3, 4>(6, 2),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("conv2d: worst scaled error {worst:.3e}");
}

/// `MaxPool2d<K, S, HO, WO>` on `[C, H, W]`, inputs without ties: the input gradient.
fn check_max_pool<
    const K: usize,
    const S: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const HO: usize,
    const WO: usize,
>(
    seed: u64,
    batch: usize,
) -> f64
where
    MaxPool2d<K, S, HO, WO>: Layer<[[[f32; W]; H]; C], Output = [[[f32; WO]; HO]; C]>,
{
    let name = format!("MaxPool2d<{K}> stride {S} on [{C}, {H}, {W}] batch {batch}");
    let g = Geometry {
        channels: C,
        height: H,
        width: W,
        kernel: K,
        stride: S,
        padding: 0,
    };
    assert_eq!((g.out_height(), g.out_width()), (HO, WO), "{name}: output size");
    let mut rng = Rng::seed(seed);
    let inputs: Vec<[[[f32; W]; H]; C]> = distinct_batch(&mut rng, batch);
    let x = flat64(&inputs);
    let smallest_gap = x
        .chunks_exact(g.len())
        .map(|x| max_pool64(g, x).1)
        .fold(f64::INFINITY, f64::min);
    assert!(
        smallest_gap > MARGIN,
        "{name}: a window's top two values are {smallest_gap:e} apart"
    );
    check_layer(&name, &MaxPool2d::<K, S, HO, WO>, &inputs, &mut rng, |_, _, x| {
        per_sample(x, g.len(), |x| max_pool64(g, x).0)
    })
}

#[test]
fn max_pool2d_input_gradient_without_ties() {
    let worst = [
        // windows side by side; the last column (odd width) is in no window
        check_max_pool::<2, 2, 3, 6, 7, 3, 3>(10, 3),
        // overlapping windows: one value may be the maximum of several
        check_max_pool::<3, 2, 2, 9, 8, 4, 3>(11, 3),
        // stride 1: every value is in up to four windows
        check_max_pool::<2, 1, 2, 5, 5, 4, 4>(12, 2),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("max pool: worst scaled error {worst:.3e}");
}

/// `AvgPool2d<K, S, HO, WO>` on `[C, H, W]`: the input gradient.
fn check_avg_pool<
    const K: usize,
    const S: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const HO: usize,
    const WO: usize,
>(
    seed: u64,
    batch: usize,
) -> f64
where
    AvgPool2d<K, S, HO, WO>: Layer<[[[f32; W]; H]; C], Output = [[[f32; WO]; HO]; C]>,
{
    let name = format!("AvgPool2d<{K}> stride {S} on [{C}, {H}, {W}] batch {batch}");
    let g = Geometry {
        channels: C,
        height: H,
        width: W,
        kernel: K,
        stride: S,
        padding: 0,
    };
    assert_eq!((g.out_height(), g.out_width()), (HO, WO), "{name}: output size");
    let mut rng = Rng::seed(seed);
    let inputs: Vec<[[[f32; W]; H]; C]> = random_batch(&mut rng, batch, -1.0, 1.0);
    check_layer(&name, &AvgPool2d::<K, S, HO, WO>, &inputs, &mut rng, |_, _, x| {
        per_sample(x, g.len(), |x| avg_pool64(g, x))
    })
}

#[test]
fn avg_pool2d_input_gradient() {
    let worst = [
        check_avg_pool::<2, 2, 3, 6, 7, 3, 3>(20, 3),
        check_avg_pool::<3, 2, 2, 9, 8, 4, 3>(21, 3),
        check_avg_pool::<2, 1, 2, 5, 5, 4, 4>(22, 2),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("avg pool: worst scaled error {worst:.3e}");
}

// ---------------------------------------------------------------------------------------------
// A whole convolutional network
// ---------------------------------------------------------------------------------------------

network! {
    /// Every convolutional layer in one chain: `[2, 8, 8]` -> `[3, 8, 8]` -> `[3, 4, 4]` ->
    /// `[4, 2, 2]` -> `[4, 1, 1]` -> 3 logits.
    struct SmallCnn: [2, 8, 8] => Conv2d<2, 3, 3>(padding = 1) -> ReLU -> MaxPool2d<2> -> Conv2d<3, 4, 3>(stride = 2, padding = 1) -> Tanh -> AvgPool2d<2> -> Flatten -> Linear<4, 3>
}

type CnnInput = [[[f32; 8]; 8]; 2];

/// `SmallCnn` in f64 for one sample: the logits, the smallest distance of a ReLU input from 0,
/// and the smallest gap of a max-pool window (see [`max_pool64`]).
fn small_cnn64(layout: &Layout, p: &[f64], x: &[f64]) -> (Vec<f64>, f64, f64) {
    let conv1 = Geometry {
        channels: 2,
        height: 8,
        width: 8,
        kernel: 3,
        stride: 1,
        padding: 1,
    };
    let pool1 = Geometry {
        channels: 3,
        height: 8,
        width: 8,
        kernel: 2,
        stride: 2,
        padding: 0,
    };
    let conv2 = Geometry {
        channels: 3,
        height: 4,
        width: 4,
        kernel: 3,
        stride: 2,
        padding: 1,
    };
    let pool2 = Geometry {
        channels: 4,
        height: 2,
        width: 2,
        kernel: 2,
        stride: 2,
        padding: 0,
    };
    let h = conv2d64(conv1, layout.get(p, "0.weight"), layout.get(p, "0.bias"), x);
    let closest_to_kink = h.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
    let h: Vec<f64> = h.into_iter().map(|v| v.max(0.0)).collect();
    let (h, smallest_gap) = max_pool64(pool1, &h);
    let h = conv2d64(conv2, layout.get(p, "3.weight"), layout.get(p, "3.bias"), &h);
    let h: Vec<f64> = h.into_iter().map(f64::tanh).collect();
    let h = avg_pool64(pool2, &h); // then Flatten: the flat vector itself
    let logits = linear64(layout.get(p, "7.weight"), layout.get(p, "7.bias"), &h);
    (logits, closest_to_kink, smallest_gap)
}

#[test]
fn small_cnn_parameter_and_input_gradients() {
    let net = SmallCnn::init(7);
    let mut rng = Rng::seed(30);
    let batch = 4;
    let inputs: Vec<CnnInput> = random_batch(&mut rng, batch, -1.0, 1.0);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(3)).collect();

    let mut workspace = Workspace::<SmallCnn, CnnInput, usize>::new();
    // A larger batch first: the gradients of the second call must not depend on the first.
    let warm_up: Vec<CnnInput> = random_batch(&mut rng, 6, -1.0, 1.0);
    workspace.compute_grads(&net, &CrossEntropy, &warm_up, &[0, 1, 2, 0, 1, 2]);
    let value = workspace.compute_grads(&net, &CrossEntropy, &inputs, &labels);

    let (layout, params) = Layout::of(&net);
    let keys: Vec<&str> = layout.tensors.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"]);
    let x = flat64(&inputs);
    let sample_len = <CnnInput as Tensor>::LEN;
    let mean_loss = |p: &[f64], x: &[f64]| -> f64 {
        x.chunks_exact(sample_len)
            .zip(&labels)
            .map(|(x, &label)| cross_entropy64(&small_cnn64(&layout, p, x).0, label))
            .sum::<f64>()
            / batch as f64
    };
    let (mut closest_to_kink, mut smallest_gap) = (f64::INFINITY, f64::INFINITY);
    for (sample, x) in inputs.iter().zip(x.chunks_exact(sample_len)) {
        let (logits, kink, gap) = small_cnn64(&layout, &params, x);
        check_forward("SmallCnn forward", &net.forward(sample), &logits);
        closest_to_kink = closest_to_kink.min(kink);
        smallest_gap = smallest_gap.min(gap);
    }
    // See MARGIN: no central difference straddles a ReLU kink or changes a window's maximum.
    assert!(
        closest_to_kink > MARGIN && smallest_gap > MARGIN,
        "a ReLU input is {closest_to_kink:e} from 0, a max-pool window's top two values are {smallest_gap:e} apart: choose other seeds"
    );
    check_forward("SmallCnn mean loss", &[value], &[mean_loss(&params, &x)]);

    // Every bias entry and up to 40 sampled entries of each other tensor.
    let (_, analytic) = Layout::of(workspace.grads());
    let mut worst: f64 = 0.0;
    for (key, shape, range) in &layout.tensors {
        let indices = if shape.len() == 1 {
            all(range.len())
        } else {
            sample(&mut rng, range.len(), 40)
        };
        let global: Vec<usize> = indices.iter().map(|i| range.start + i).collect();
        let analytic: Vec<f64> = global.iter().map(|&i| analytic[i]).collect();
        // Expected values: central differences of the f64 mean loss of the whole network.
        let numeric = numeric_grad(&params, &global, |p| mean_loss(p, &x));
        worst = worst.max(check(&format!("SmallCnn {key}"), &analytic, &numeric));
    }

    // The input gradient, through the generated chain's `backward_batch`.
    let mut cache = <SmallCnn as Layer<CnnInput>>::Cache::default();
    let mut outputs = vec![[0.0f32; 3]; batch];
    net.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Train);
    let mut grad_outputs = vec![[0.0f32; 3]; batch];
    CrossEntropy.loss_and_grad(&outputs, &labels, &mut grad_outputs);
    let mut grad_input = vec![[[[f32::NAN; 8]; 8]; 2]; batch];
    let mut grads = SmallCnn::zeros();
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
    worst = worst.max(check("SmallCnn input", &flat64(&grad_input), &numeric));
    println!("small CNN: worst scaled error {worst:.3e}");
}

// ---------------------------------------------------------------------------------------------
// The check itself
// ---------------------------------------------------------------------------------------------

/// The comparison rejects what typical convolution bugs produce, built from the library's correct
/// gradients: a kernel flipped by 180 degrees (convolution instead of PyTorch's
/// cross-correlation), and an input gradient shifted by one pixel (an off-by-one in the padding).
#[test]
fn the_check_rejects_typical_conv_gradient_bugs() {
    let g = Geometry {
        channels: 2,
        height: 6,
        width: 6,
        kernel: 3,
        stride: 1,
        padding: 1,
    };
    let mut rng = Rng::seed(40);
    let layer = Conv2d::<2, 2, 3, 1, 1, 6, 6>::init(&mut rng);
    let inputs: Vec<[[[f32; 6]; 6]; 2]> = random_batch(&mut rng, 2, -1.0, 1.0);
    let coeffs: Vec<[[[f32; 6]; 6]; 2]> = random_batch(&mut rng, 2, -1.0, 1.0);
    let (_, grads, grad_input) = backward(&layer, &inputs, &coeffs);

    let (layout, p) = Layout::of(&layer);
    let (_, analytic) = Layout::of(&grads);
    let (x, c) = (flat64(&inputs), flat64(&coeffs));
    let objective = |p: &[f64], x: &[f64]| {
        dot(
            &c,
            &per_sample(x, g.len(), |x| {
                conv2d64(g, layout.get(p, "weight"), layout.get(p, "bias"), x)
            }),
        )
    };
    let weights = 0..2 * 2 * 9;
    let numeric = numeric_grad(&p, &weights.clone().collect::<Vec<_>>(), |p| objective(p, &x));
    let analytic_weight = &analytic[weights];
    assert!(passes(analytic_weight, &numeric));
    // Each 3x3 kernel reversed: index 8 - i within its block of 9.
    let flipped: Vec<f64> = (0..analytic_weight.len())
        .map(|i| analytic_weight[i - i % 9 + 8 - i % 9])
        .collect();
    assert!(!passes(&flipped, &numeric), "a flipped-kernel weight gradient passes");

    let numeric = numeric_grad(&x, &all(x.len()), |x| objective(&p, x));
    let analytic_input = flat64(&grad_input);
    assert!(passes(&analytic_input, &numeric));
    let shifted: Vec<f64> = (0..analytic_input.len())
        .map(|i| if i % 6 == 5 { 0.0 } else { analytic_input[i + 1] })
        .collect();
    assert!(!passes(&shifted, &numeric), "an input gradient one pixel off passes");
}
