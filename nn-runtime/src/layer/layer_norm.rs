//! `LayerNorm<N>`: normalises each sample's last dimension, as `torch.nn.LayerNorm(N)`.

use super::{Layer, Mode, Module};
use crate::threads::split_rows;
use crate::{Rng, Tensor};

/// Added to the variance before the square root, PyTorch's default `eps`.
const EPS: f32 = 1e-5;

/// Layer normalization over the last dimension, PyTorch's `nn.LayerNorm(N)`: each row of `N`
/// values becomes `(x - mean) / sqrt(var + 1e-5) * weight + bias`, with the mean and the biased
/// variance of that row. Takes `[f32; N]` and sequences `[[f32; N]; T]` (each row on its own);
/// it behaves the same in training and evaluation.
///
/// ```
/// use nn::prelude::*;
/// let norm = LayerNorm::<2>::init_with(&mut nn::Rng::seed(0)); // weight 1, bias 0
/// let y = norm.forward(&[1.0, 3.0]);
/// assert!((y[0] + 1.0).abs() < 1e-5 && (y[1] - 1.0).abs() < 1e-5);
/// ```
#[derive(Clone, PartialEq)]
pub struct LayerNorm<const N: usize> {
    /// Multiplies each normalised value (PyTorch's `weight`, initialised to 1).
    pub weight: Box<[f32; N]>,
    /// Added after scaling (initialised to 0).
    pub bias: Box<[f32; N]>,
    /// Whether training leaves the weights alone ([`Module::set_frozen`]).
    frozen: bool,
}

/// Shows the shapes, not the numbers.
impl<const N: usize> std::fmt::Debug for LayerNorm<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LayerNorm<{N}> {{ weight: [{N}], bias: [{N}] }}")
    }
}

impl<const N: usize> Module for LayerNorm<N> {
    const NUM_PARAMS: usize = 2 * N;

    /// PyTorch's init: weight 1, bias 0 (nothing is drawn from `rng`).
    fn init_with(_rng: &mut Rng) -> Self {
        let mut layer = Self::zeros();
        layer.weight.fill(1.0);
        layer
    }

    fn zeros() -> Self {
        LayerNorm {
            weight: Box::new([0.0; N]),
            bias: Box::new([0.0; N]),
            frozen: false,
        }
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
        visit(&format!("{prefix}weight"), &[N], &self.weight[..]);
        visit(&format!("{prefix}bias"), &[N], &self.bias[..]);
    }

    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
        visit(&format!("{prefix}weight"), &[N], &mut self.weight[..]);
        visit(&format!("{prefix}bias"), &[N], &mut self.bias[..]);
    }

    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
        if self.frozen {
            return;
        }
        update(&mut self.weight[..], &grads.weight[..]);
        update(&mut self.bias[..], &grads.bias[..]);
    }

    fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
    }
}

/// Rows of work (times `N` values) below which a batch is normalised on one thread: the handoff
/// to the second thread costs more than a few hundred short rows.
const PARALLEL_MIN_VALUES: usize = 16_384;

/// Independent partial sums of a row: a single running sum would make every addition wait for
/// the one before, and the compiler may not reorder float additions. The lanes are combined in
/// a fixed order, so the result does not depend on the machine or the thread count.
const LANES: usize = 8;

/// `sum(f(i))` over `0..n` in [`LANES`] interleaved partial sums.
#[inline(always)]
fn lane_sum(n: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let whole = n - n % LANES;
    for start in (0..whole).step_by(LANES) {
        for (lane, sum) in lanes.iter_mut().enumerate() {
            *sum += f(start + lane);
        }
    }
    let rest: f32 = (whole..n).map(&f).sum();
    ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7])) + rest
}

/// The mean and `1 / sqrt(biased variance + eps)` of one row, the variance from a second pass
/// over the deviations (as accurate as PyTorch's Welford update, unlike `E[x^2] - E[x]^2`).
#[inline(always)]
fn row_statistics(row: &[f32]) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = lane_sum(row.len(), |i| row[i]) / n;
    let var = lane_sum(row.len(), |i| (row[i] - mean) * (row[i] - mean)) / n;
    (mean, 1.0 / (var + EPS).sqrt())
}

impl<const N: usize> LayerNorm<N> {
    /// Every row on its own, so the rows are split between the threads.
    fn forward_rows(&self, input: &[f32], output: &mut [f32]) {
        let (rows, _) = output.as_chunks_mut::<N>();
        split_rows(rows, 1, N, PARALLEL_MIN_VALUES, |first, rows| {
            for (x, y) in input[first * N..].chunks_exact(N).zip(rows) {
                let (mean, inv_std) = row_statistics(x);
                for (((y, &x), &w), &b) in y.iter_mut().zip(x).zip(&*self.weight).zip(&*self.bias) {
                    *y = (x - mean) * inv_std * w + b;
                }
            }
        });
    }

    /// The statistics are recomputed from the input rather than cached: one more pass over a
    /// row the backward pass reads anyway, and no buffer to grow. The input gradient is split
    /// between the threads by rows; the parameter gradients, sums over every row, are added in
    /// row order on one thread so that they do not depend on the split.
    fn backward_rows(&self, input: &[f32], grad_output: &[f32], grad_input: Option<&mut [f32]>, grads: &mut Self) {
        if let Some(grad_input) = grad_input {
            let (rows, _) = grad_input.as_chunks_mut::<N>();
            split_rows(rows, 1, 2 * N, PARALLEL_MIN_VALUES, |first, rows| {
                let inputs = input[first * N..].chunks_exact(N);
                let grads = grad_output[first * N..].chunks_exact(N);
                for ((x, g), dx) in inputs.zip(grads).zip(rows) {
                    self.input_gradient(x, g, dx);
                }
            });
        }
        if self.frozen {
            return;
        }
        grads.weight.fill(0.0);
        grads.bias.fill(0.0);
        for (x, g) in input.chunks_exact(N).zip(grad_output.chunks_exact(N)) {
            let (mean, inv_std) = row_statistics(x);
            for i in 0..N {
                grads.weight[i] += g[i] * ((x[i] - mean) * inv_std);
                grads.bias[i] += g[i];
            }
        }
    }

    /// `dx = inv_std * (g w - mean(g w) - x_hat * mean(g w x_hat))` for one row.
    #[inline(always)]
    fn input_gradient(&self, x: &[f32], g: &[f32], dx: &mut [f32; N]) {
        let (mean, inv_std) = row_statistics(x);
        let w = &*self.weight;
        let sum_gw = lane_sum(N, |i| g[i] * w[i]);
        let sum_gw_xhat = lane_sum(N, |i| g[i] * w[i] * ((x[i] - mean) * inv_std));
        let (mean_gw, mean_gw_xhat) = (sum_gw / N as f32, sum_gw_xhat / N as f32);
        for (i, dx) in dx.iter_mut().enumerate() {
            let x_hat = (x[i] - mean) * inv_std;
            *dx = inv_std * (g[i] * w[i] - mean_gw - x_hat * mean_gw_xhat);
        }
    }
}

/// `Layer` for one row `[f32; N]` and for a sequence of rows `[[f32; N]; T]`.
macro_rules! layer_norm_layer {
    ($input:ty $(, const $dim:ident)*) => {
        impl<$(const $dim: usize,)* const N: usize> Layer<$input> for LayerNorm<N> {
            type Output = $input;
            type Cache = ();

            fn forward(&self, input: &$input) -> $input {
                let mut output = *input;
                self.forward_rows(input.flat(), output.flat_mut());
                output
            }

            fn forward_batch(&self, input: &[$input], output: &mut [$input], _cache: &mut (), _mode: Mode) {
                self.forward_rows(<$input>::flat_batch(input), <$input>::flat_batch_mut(output));
            }

            fn backward_batch(
                &self,
                input: &[$input],
                _output: &[$input],
                grad_output: &[$input],
                grad_input: Option<&mut [$input]>,
                _cache: &mut (),
                grads: &mut Self,
            ) {
                self.backward_rows(
                    <$input>::flat_batch(input),
                    <$input>::flat_batch(grad_output),
                    grad_input.map(<$input>::flat_batch_mut),
                    grads,
                );
            }
        }
    };
}

layer_norm_layer!([f32; N]);
layer_norm_layer!([[f32; N]; T], const T);
