//! `LayerNorm<N>`: normalises each sample's last dimension, as `torch.nn.LayerNorm(N)`.

use super::{Layer, Mode, Module};
use crate::threads::{split_row_groups, split_rows, split_rows_with};
use crate::widest::widest_vectors;
use crate::AlignedBox;
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
    pub weight: AlignedBox<[f32; N]>,
    /// Added after scaling (initialised to 0).
    pub bias: AlignedBox<[f32; N]>,
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
            weight: AlignedBox::new([0.0; N]),
            bias: AlignedBox::new([0.0; N]),
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

/// Rows whose sums [`normalize_rows`] takes side by side: a row's sums are
/// chains of dependent additions (then a division and a square root), and the chains of
/// several rows overlap only when their instructions are close together.
const ROW_BLOCK: usize = 4;

/// Rows whose sums [`gradient_rows`] takes side by side (each row has two already; more rows
/// measured no faster).
const GRADIENT_ROW_BLOCK: usize = 2;

/// `sum(f(r, i))` over `0..n` for each of `R` rows, each in [`LANES`] interleaved partial sums
/// combined in a fixed order; a row's sum does not depend on `R` or on the other rows.
#[inline(always)]
fn lane_sums<const R: usize>(n: usize, f: impl Fn(usize, usize) -> f32) -> [f32; R] {
    let mut lanes = [[0.0f32; LANES]; R];
    let whole = n - n % LANES;
    for start in (0..whole).step_by(LANES) {
        for (r, lanes) in lanes.iter_mut().enumerate() {
            for (lane, sum) in lanes.iter_mut().enumerate() {
                *sum += f(r, start + lane);
            }
        }
    }
    std::array::from_fn(|r| {
        let lanes = &lanes[r];
        let rest: f32 = (whole..n).map(|i| f(r, i)).sum();
        ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7])) + rest
    })
}

/// The mean and `1 / sqrt(biased variance + eps)` of each of `R` rows, the variance from a
/// second pass over the deviations (as accurate as PyTorch's Welford update, unlike
/// `E[x^2] - E[x]^2`).
#[inline(always)]
fn row_statistics<const R: usize, const N: usize>(rows: [&[f32; N]; R]) -> [(f32, f32); R] {
    let n = N as f32;
    let means = lane_sums::<R>(N, |r, i| rows[r][i]).map(|sum| sum / n);
    let variances = lane_sums::<R>(N, |r, i| (rows[r][i] - means[r]) * (rows[r][i] - means[r])).map(|sum| sum / n);
    std::array::from_fn(|r| (means[r], 1.0 / (variances[r] + EPS).sqrt()))
}

/// The mean and `1 / sqrt(variance + eps)` of each row, recorded by a batched forward pass for
/// the backward pass.
const STATS_PER_ROW: usize = 2;

impl<const N: usize> LayerNorm<N> {
    /// Every row on its own, so the rows are split between the threads; each row's statistics
    /// go to `stats` ([`STATS_PER_ROW`] values a row) when it is not empty.
    fn forward_rows(&self, input: &[f32], output: &mut [f32], stats: &mut [f32]) {
        let (rows, _) = output.as_chunks_mut::<N>();
        let (weight, bias) = (&*self.weight, &*self.bias);
        if stats.is_empty() {
            split_rows(rows, 1, N, PARALLEL_MIN_VALUES, |first, rows| {
                normalize_rows::<N>(&input[first * N..], weight, bias, rows.as_flattened_mut(), &mut []);
            });
        } else {
            split_rows_with(
                rows,
                stats,
                STATS_PER_ROW,
                N,
                PARALLEL_MIN_VALUES,
                |first, rows, stats| {
                    normalize_rows::<N>(&input[first * N..], weight, bias, rows.as_flattened_mut(), stats);
                },
            );
        }
    }

    /// One pass over the rows, split between the threads in groups of [`GROUP_ROWS`]: each
    /// row's input gradient, and each group's sums for the parameter gradients, which are then
    /// added up in group order, so that they do not depend on the split. `cache` holds each
    /// row's statistics from the forward pass, then room for the group sums.
    fn backward_rows(
        &self,
        input: &[f32],
        grad_output: &[f32],
        cache: &mut [f32],
        grad_input: Option<&mut [f32]>,
        grads: &mut Self,
    ) {
        let rows = input.len() / N;
        let (stats, group_sums) = cache.split_at_mut(rows * STATS_PER_ROW);
        let (stats, weight, learn) = (&*stats, &*self.weight, !self.frozen);
        let task = |first: usize, rows: usize, dx: &mut [f32], sums: &mut [f32]| {
            let (x, g) = (&input[first * N..], &grad_output[first * N..]);
            let stats = &stats[first * STATS_PER_ROW..(first + rows) * STATS_PER_ROW];
            gradient_rows::<N>(x, g, stats, weight, dx, sums);
        };
        let sums_per_group = if learn { 2 * N } else { 0 };
        let group_sums = &mut group_sums[..rows.div_ceil(GROUP_ROWS) * sums_per_group];
        match grad_input {
            Some(grad_input) => {
                let (grad_rows, _) = grad_input.as_chunks_mut::<N>();
                let work = if learn { 4 * N } else { 2 * N };
                split_row_groups(
                    grad_rows,
                    GROUP_ROWS,
                    group_sums,
                    sums_per_group,
                    work,
                    PARALLEL_MIN_VALUES,
                    |first, dx, sums| {
                        task(first, dx.len(), dx.as_flattened_mut(), sums);
                    },
                );
            }
            None if learn => {
                // Zero-sized rows stand for the rows (a `Vec` of `()` allocates nothing).
                let mut rows = vec![(); rows];
                split_row_groups(
                    &mut rows,
                    GROUP_ROWS,
                    group_sums,
                    sums_per_group,
                    2 * N,
                    PARALLEL_MIN_VALUES,
                    |first, rows, sums| {
                        task(first, rows.len(), &mut [], sums);
                    },
                );
            }
            None => {}
        }
        if learn {
            add_group_sums::<N>(group_sums, &mut grads.weight, &mut grads.bias);
        }
    }
}

/// Rows whose parameter-gradient sums are taken together before the groups are added up.
const GROUP_ROWS: usize = 64;

/// Values of `cache` a batched forward pass of `rows` rows needs: each row's statistics, then
/// each group's sums for the parameter gradients.
fn cache_len(rows: usize, n: usize) -> usize {
    rows * STATS_PER_ROW + rows.div_ceil(GROUP_ROWS) * 2 * n
}

widest_vectors! {
    /// `output = (x - mean) * inv_std * weight + bias` for each row of `output`, from the rows
    /// at the start of `input`; each row's statistics to `stats` unless it is empty.
    fn normalize_rows<const N: usize>(
        input: &[f32],
        weight: &[f32; N],
        bias: &[f32; N],
        output: &mut [f32],
        stats: &mut [f32],
    ) {
        let (input, _) = input.as_chunks::<N>();
        let (output, _) = output.as_chunks_mut::<N>();
        let rows = output.len().min(input.len());
        let normalize = |r: usize, (mean, inv_std): (f32, f32), y: &mut [f32; N], stats: &mut [f32]| {
            if let Some(stats) = stats.get_mut(r * STATS_PER_ROW..(r + 1) * STATS_PER_ROW) {
                stats.copy_from_slice(&[mean, inv_std]);
            }
            let x = &input[r];
            for i in 0..N {
                y[i] = (x[i] - mean) * inv_std * weight[i] + bias[i];
            }
        };
        let whole = rows - rows % ROW_BLOCK;
        for first in (0..whole).step_by(ROW_BLOCK) {
            let statistics = row_statistics(std::array::from_fn::<_, ROW_BLOCK, _>(|k| &input[first + k]));
            for (k, statistics) in statistics.into_iter().enumerate() {
                normalize(first + k, statistics, &mut output[first + k], stats);
            }
        }
        for r in whole..rows {
            let [statistics] = row_statistics([&input[r]]);
            normalize(r, statistics, &mut output[r], stats);
        }
    }
}

widest_vectors! {
    /// For each row of `stats` and the rows at the start of `input` and `grad_output`: the
    /// input gradient `dx = inv_std * (g w - mean(g w) - x_hat * mean(g w x_hat))` unless `dx`
    /// is empty, and unless `sums` is empty its terms of the parameter gradients (`g * x_hat`
    /// and `g`) summed into its group's `2 * N` values of `sums`, in row order.
    fn gradient_rows<const N: usize>(
        input: &[f32],
        grad_output: &[f32],
        stats: &[f32],
        w: &[f32; N],
        dx: &mut [f32],
        sums: &mut [f32],
    ) {
        let learn = !sums.is_empty();
        sums.fill(0.0);
        let (x, _) = input.as_chunks::<N>();
        let (g, _) = grad_output.as_chunks::<N>();
        let (stats, _) = stats.as_chunks::<STATS_PER_ROW>();
        let (dx, _) = dx.as_chunks_mut::<N>();
        let rows = x.len().min(g.len()).min(stats.len());
        // Row `r`'s input gradient from its two sums, then its terms of the parameter gradients.
        let row = |r: usize, sums_of_row: Option<(f32, f32)>, dx: &mut [[f32; N]], sums: &mut [f32]| {
            let (x, g, [mean, inv_std]) = (&x[r], &g[r], stats[r]);
            if let (Some((sum_gw, sum_gw_xhat)), Some(dx)) = (sums_of_row, dx.get_mut(r)) {
                let (mean_gw, mean_gw_xhat) = (sum_gw / N as f32, sum_gw_xhat / N as f32);
                for i in 0..N {
                    let x_hat = (x[i] - mean) * inv_std;
                    dx[i] = inv_std * (g[i] * w[i] - mean_gw - x_hat * mean_gw_xhat);
                }
            }
            if learn {
                let group = r / GROUP_ROWS;
                let (weight_sums, bias_sums) = sums[group * 2 * N..(group + 1) * 2 * N].split_at_mut(N);
                for i in 0..N {
                    weight_sums[i] += g[i] * ((x[i] - mean) * inv_std);
                    bias_sums[i] += g[i];
                }
            }
        };
        // The sums of a pair of rows side by side, then each row in order.
        let dx_rows = dx.len().min(rows);
        let whole = dx_rows - dx_rows % GRADIENT_ROW_BLOCK;
        for first in (0..whole).step_by(GRADIENT_ROW_BLOCK) {
            let block =
                std::array::from_fn::<_, GRADIENT_ROW_BLOCK, _>(|k| (&x[first + k], &g[first + k], stats[first + k]));
            for (k, sums_of_row) in gradient_sums(block, w).into_iter().enumerate() {
                row(first + k, Some(sums_of_row), dx, sums);
            }
        }
        for r in whole..rows {
            let sums_of_row = (r < dx_rows).then(|| gradient_sums([(&x[r], &g[r], stats[r])], w)[0]);
            row(r, sums_of_row, dx, sums);
        }
    }
}

/// `sum(g w)` and `sum(g w x_hat)` of each of `R` rows (input, output gradient, statistics).
#[inline(always)]
fn gradient_sums<const R: usize, const N: usize>(
    rows: [(&[f32; N], &[f32; N], [f32; STATS_PER_ROW]); R],
    w: &[f32; N],
) -> [(f32, f32); R] {
    let x = rows.map(|(x, _, _)| x);
    let g = rows.map(|(_, g, _)| g);
    let [mean, inv_std] = [0, 1].map(|s| rows.map(|(_, _, stats)| stats[s]));
    let sum_gw = lane_sums::<R>(N, |r, i| g[r][i] * w[i]);
    let sum_gw_xhat = lane_sums::<R>(N, |r, i| g[r][i] * w[i] * ((x[r][i] - mean[r]) * inv_std[r]));
    std::array::from_fn(|r| (sum_gw[r], sum_gw_xhat[r]))
}

widest_vectors! {
    /// `weight` and `bias` = the sums of every group of `sums`, added in group order.
    fn add_group_sums<const N: usize>(sums: &[f32], weight: &mut [f32; N], bias: &mut [f32; N]) {
        weight.fill(0.0);
        bias.fill(0.0);
        for group in sums.chunks_exact(2 * N) {
            let (weight_sums, bias_sums) = group.split_at(N);
            for i in 0..N {
                weight[i] += weight_sums[i];
                bias[i] += bias_sums[i];
            }
        }
    }
}

/// `Layer` for one row `[f32; N]` and for a sequence of rows `[[f32; N]; T]`.
macro_rules! layer_norm_layer {
    ($input:ty $(, const $dim:ident)*) => {
        impl<$(const $dim: usize,)* const N: usize> Layer<$input> for LayerNorm<N> {
            type Output = $input;
            /// Each row's mean and `1 / sqrt(variance + eps)`, then room for the sums of the
            /// parameter gradients.
            type Cache = Vec<f32>;

            fn forward(&self, input: &$input) -> $input {
                let mut output = *input;
                self.forward_rows(input.flat(), output.flat_mut(), &mut []);
                output
            }

            fn forward_batch(&self, input: &[$input], output: &mut [$input], cache: &mut Vec<f32>, _mode: Mode) {
                let input = <$input>::flat_batch(input);
                let rows = input.len() / N;
                // `resize` allocates only when the batch grows past every earlier one.
                cache.resize(cache_len(rows, N), 0.0);
                self.forward_rows(input, <$input>::flat_batch_mut(output), &mut cache[..rows * STATS_PER_ROW]);
            }

            fn backward_batch(
                &self,
                input: &[$input],
                _output: &[$input],
                grad_output: &[$input],
                grad_input: Option<&mut [$input]>,
                cache: &mut Vec<f32>,
                grads: &mut Self,
            ) {
                self.backward_rows(
                    <$input>::flat_batch(input),
                    <$input>::flat_batch(grad_output),
                    cache,
                    grad_input.map(<$input>::flat_batch_mut),
                    grads,
                );
            }
        }
    };
}

layer_norm_layer!([f32; N]);
layer_norm_layer!([[f32; N]; T], const T);
