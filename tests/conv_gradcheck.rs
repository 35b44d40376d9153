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
//! - Tolerance `TOL` as in `tests/gradcheck.rs`, and every check asserts it is able to fail: the
//!   step, the tolerance and the checks are shared with it in `tests/common/gradcheck.rs`.
//!
//! Max pooling has no derivative where two values of a window tie, nor ReLU at 0: the inputs are
//! drawn so that no step of the finite differences crosses such a point (see [`MARGIN`]), and
//! the f64 reference asserts it.
//!
//! Run with `cargo test --test conv_gradcheck -- --nocapture` to see the worst error of each check.

mod common;

use common::backward;
use common::gradcheck::{
    all, check_cross_entropy_input_grad, check_forward, check_layer, check_network_params, cross_entropy64, dot,
    flat64, linear64, numeric_grad, passes, per_sample, random_batch, Layout,
};
use nn::loss::CrossEntropy;
use nn::prelude::*;
use nn::train::Workspace;
use nn::{AvgPool2d, Conv2d, MaxPool2d, Rng};

/// Every ReLU input is at least this far from 0 and every max-pool window's maximum at least this
/// far above the window's next value (windows of ReLU zeros aside: no step moves them).
///
/// A step of `H` in one input or parameter moves a first-layer value by at most `H` (inputs and
/// first-layer weights are below 1 in magnitude), and a value of a later layer by at most `H`
/// times the sum of `|w|` over one window (below 6 for `Conv2d<3, 4, 3>`'s default init): 1e-4
/// leaves a margin of more than 10, so no central difference straddles a kink or changes which
/// value of a window is the largest.
const MARGIN: f64 = 1e-4;

/// One `[C, H, W]` sample.
type Sample<const C: usize, const H: usize, const W: usize> = [[[f32; W]; H]; C];

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

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
    /// A `kernel` x `kernel` window moved by `stride` over a sample of shape `[channels, height,
    /// width]` with `padding` zeros on every side.
    fn new(shape: &[usize], kernel: usize, stride: usize, padding: usize) -> Geometry {
        let &[channels, height, width] = shape else {
            panic!("{shape:?} is not a [channels, height, width] sample")
        };
        Geometry {
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
        }
    }

    /// `floor((H + 2 P - K) / S) + 1`, as `torch.nn.Conv2d` and `MaxPool2d` document.
    fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Asserts that the layer checked as `name`, with output `O`, has `out_channels` channels of
    /// the size PyTorch's formula gives.
    fn assert_output<O: Tensor>(&self, name: &str, out_channels: usize) {
        assert_eq!(
            O::SHAPE,
            [out_channels, self.out_height(), self.out_width()],
            "{name}: output size"
        );
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

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

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
    Conv2d<IN, OUT, K, S, P, HO, WO>: Layer<Sample<IN, H, W>, Output = Sample<OUT, HO, WO>>,
{
    let name = format!("Conv2d<{IN}, {OUT}, {K}> stride {S} padding {P} on [{IN}, {H}, {W}] batch {batch}");
    let g = Geometry::new(&[IN, H, W], K, S, P);
    g.assert_output::<Sample<OUT, HO, WO>>(&name, OUT);
    let mut rng = Rng::seed(seed);
    let layer = Conv2d::<IN, OUT, K, S, P, HO, WO>::init_with(&mut rng);
    let inputs: Vec<Sample<IN, H, W>> = random_batch(&mut rng, batch, -1.0, 1.0);
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

/// A pooling layer over `g` (as many output channels as input channels) on `inputs`: the input
/// gradient (see [`check_layer`]), against central differences of `reference`, the pooling of
/// one sample in f64.
fn check_pool<L, I>(
    name: &str,
    layer: &L,
    g: Geometry,
    inputs: &[I],
    rng: &mut Rng,
    reference: impl Fn(&[f64]) -> Vec<f64>,
) -> f64
where
    L: Layer<I>,
    I: Tensor,
{
    g.assert_output::<L::Output>(name, g.channels);
    check_layer(name, layer, inputs, rng, |_, _, x| per_sample(x, g.len(), &reference))
}

/// `MaxPool2d<K, S, HO, WO>` on `I` = `[C, H, W]`, inputs without ties: the input gradient.
fn check_max_pool<const K: usize, const S: usize, const HO: usize, const WO: usize, I>(seed: u64, batch: usize) -> f64
where
    I: Tensor,
    MaxPool2d<K, S, HO, WO>: Layer<I>,
{
    let name = format!("MaxPool2d<{K}> stride {S} on {:?} batch {batch}", I::SHAPE);
    let g = Geometry::new(I::SHAPE, K, S, 0);
    let mut rng = Rng::seed(seed);
    let inputs: Vec<I> = distinct_batch(&mut rng, batch);
    let smallest_gap = flat64(&inputs)
        .chunks_exact(g.len())
        .map(|x| max_pool64(g, x).1)
        .fold(f64::INFINITY, f64::min);
    assert!(
        smallest_gap > MARGIN,
        "{name}: a window's top two values are {smallest_gap:e} apart"
    );
    check_pool(&name, &MaxPool2d::<K, S, HO, WO>, g, &inputs, &mut rng, |x| {
        max_pool64(g, x).0
    })
}

#[test]
fn max_pool2d_input_gradient_without_ties() {
    let worst = [
        // windows side by side; the last column (odd width) is in no window
        check_max_pool::<2, 2, 3, 3, Sample<3, 6, 7>>(10, 3),
        // overlapping windows: one value may be the maximum of several
        check_max_pool::<3, 2, 4, 3, Sample<2, 9, 8>>(11, 3),
        // stride 1: every value is in up to four windows
        check_max_pool::<2, 1, 4, 4, Sample<2, 5, 5>>(12, 2),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("max pool: worst scaled error {worst:.3e}");
}

/// `AvgPool2d<K, S, HO, WO>` on `I` = `[C, H, W]`: the input gradient.
fn check_avg_pool<const K: usize, const S: usize, const HO: usize, const WO: usize, I>(seed: u64, batch: usize) -> f64
where
    I: Tensor,
    AvgPool2d<K, S, HO, WO>: Layer<I>,
{
    let g = Geometry::new(I::SHAPE, K, S, 0);
    let mut rng = Rng::seed(seed);
    let inputs: Vec<I> = random_batch(&mut rng, batch, -1.0, 1.0);
    check_pool(
        &format!("AvgPool2d<{K}> stride {S} on {:?} batch {batch}", I::SHAPE),
        &AvgPool2d::<K, S, HO, WO>,
        g,
        &inputs,
        &mut rng,
        |x| avg_pool64(g, x),
    )
}

#[test]
fn avg_pool2d_input_gradient() {
    let worst = [
        check_avg_pool::<2, 2, 3, 3, Sample<3, 6, 7>>(20, 3),
        check_avg_pool::<3, 2, 4, 3, Sample<2, 9, 8>>(21, 3),
        check_avg_pool::<2, 1, 4, 4, Sample<2, 5, 5>>(22, 2),
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

type CnnInput = Sample<2, 8, 8>;

/// `SmallCnn` in f64 for one sample: the logits, the smallest distance of a ReLU input from 0,
/// and the smallest gap of a max-pool window (see [`max_pool64`]).
fn small_cnn64(layout: &Layout, p: &[f64], x: &[f64]) -> (Vec<f64>, f64, f64) {
    let conv1 = Geometry::new(&[2, 8, 8], 3, 1, 1); // Conv2d<2, 3, 3>(padding = 1)
    let pool1 = Geometry::new(&[3, 8, 8], 2, 2, 0); // MaxPool2d<2>
    let conv2 = Geometry::new(&[3, 4, 4], 3, 2, 1); // Conv2d<3, 4, 3>(stride = 2, padding = 1)
    let pool2 = Geometry::new(&[4, 2, 2], 2, 2, 0); // AvgPool2d<2>
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
    let mut net = SmallCnn::init(7);
    let mut rng = Rng::seed(30);
    let batch = 4;
    let inputs: Vec<CnnInput> = random_batch(&mut rng, batch, -1.0, 1.0);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(3)).collect();

    let mut workspace = Workspace::<SmallCnn, CnnInput, usize>::new();
    // A larger batch first: the gradients of the second call must not depend on the first.
    let warm_up: Vec<CnnInput> = random_batch(&mut rng, 6, -1.0, 1.0);
    workspace.compute_grads(&mut net, &CrossEntropy, &warm_up, &[0, 1, 2, 0, 1, 2]);
    let value = workspace.compute_grads(&mut net, &CrossEntropy, &inputs, &labels);

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
    let params_worst = check_network_params("SmallCnn", &net, workspace.grads(), &mut rng, |p| mean_loss(p, &x));
    // The input gradient, through the generated chain's `backward_batch`.
    let input_worst = check_cross_entropy_input_grad("SmallCnn", &net, &inputs, &labels, |x| mean_loss(&params, x));
    println!("small CNN: worst scaled error {:.3e}", params_worst.max(input_worst));
}

// ---------------------------------------------------------------------------------------------
// The check itself
// ---------------------------------------------------------------------------------------------

/// The comparison rejects what typical convolution bugs produce, built from the library's correct
/// gradients: a kernel flipped by 180 degrees (convolution instead of PyTorch's
/// cross-correlation), and an input gradient shifted by one pixel (an off-by-one in the padding).
#[test]
fn the_check_rejects_typical_conv_gradient_bugs() {
    let g = Geometry::new(&[2, 6, 6], 3, 1, 1);
    let mut rng = Rng::seed(40);
    let layer = Conv2d::<2, 2, 3, 1, 1, 6, 6>::init_with(&mut rng);
    let inputs: Vec<Sample<2, 6, 6>> = random_batch(&mut rng, 2, -1.0, 1.0);
    let coeffs: Vec<Sample<2, 6, 6>> = random_batch(&mut rng, 2, -1.0, 1.0);
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
