//! What `BatchNorm1d` and `BatchNorm2d` share: their parameters and buffers, and the kernels
//! over a flat batch `[batch, channels, spatial]` (`spatial` is 1 for `BatchNorm1d`, `H * W` for
//! `BatchNorm2d`).
//!
//! Each statistic is one pass over memory, plane by plane (`spatial` contiguous values of one
//! channel), summed in 8 independent f32 lanes (which the compiler vectorises) and accumulated
//! per channel in f64 (so a batch of 64 x 28 x 28 values per channel loses no precision).
//!
//! Threads: the statistics split the channels (each channel's sums, its planes in order of the
//! samples, on one thread), the normalisation and the input gradient split the planes; every
//! value is computed the same way whatever the split, so the bits do not depend on the number
//! of threads.

use super::Mode;
use crate::threads::split_rows;

/// Values below which a pass stays on one thread (as for pooling).
const PARALLEL_MIN_VALUES: usize = 32_768;

/// Added to the variance before the square root, PyTorch's default `eps`.
pub(crate) const EPS: f32 = 1e-5;

/// Weight of the new batch in the running statistics, PyTorch's default `momentum`.
pub(crate) const MOMENTUM: f32 = 0.1;

/// What a batch norm's forward pass keeps for its backward pass and for
/// [`crate::Layer::update_statistics`]: the per-channel statistics it normalised with, and
/// whether they were the batch's (training) or the running ones (evaluation). Its buffers grow
/// on the first pass and are reused after.
#[derive(Debug, Clone, Default)]
pub struct BatchNormCache {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// The biased variance of the batch (training only), for the running variance.
    batch_var: Vec<f32>,
    /// Per-channel accumulators, `2 * channels`.
    sums: Vec<f64>,
    /// Values per channel in the last batch: `batch * spatial`.
    count: usize,
    training: bool,
}

impl BatchNormCache {
    fn resize(&mut self, channels: usize) {
        // `resize` allocates only when the channel count grows: once per layer.
        self.mean.resize(channels, 0.0);
        self.inv_std.resize(channels, 0.0);
        self.batch_var.resize(channels, 0.0);
        self.sums.resize(2 * channels, 0.0);
    }
}

/// The parameters and buffers of a batch norm over `channels` channels, borrowed from a
/// `BatchNorm1d` or `BatchNorm2d`.
pub(crate) struct Params<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub running_mean: &'a [f32],
    pub running_var: &'a [f32],
}

/// Sum of `values` in 8 lanes.
fn sum(values: &[f32]) -> f32 {
    let (chunks, rest) = values.as_chunks::<8>();
    let mut lanes = [0.0f32; 8];
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).for_each(|(lane, &x)| *lane += x);
    }
    lanes.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// Sum of `(x - mean)^2` in 8 lanes.
fn sum_squared_deviations(values: &[f32], mean: f32) -> f32 {
    let (chunks, rest) = values.as_chunks::<8>();
    let mut lanes = [0.0f32; 8];
    for chunk in chunks {
        lanes
            .iter_mut()
            .zip(chunk)
            .for_each(|(lane, &x)| *lane += (x - mean) * (x - mean));
    }
    lanes.iter().sum::<f32>() + rest.iter().map(|&x| (x - mean) * (x - mean)).sum::<f32>()
}

/// Sum of `g * (x - mean)` in 8 lanes.
fn sum_products_of_deviations(grads: &[f32], values: &[f32], mean: f32) -> f32 {
    let (g_chunks, g_rest) = grads.as_chunks::<8>();
    let (x_chunks, x_rest) = values.as_chunks::<8>();
    let mut lanes = [0.0f32; 8];
    for (g, x) in g_chunks.iter().zip(x_chunks) {
        for ((lane, &g), &x) in lanes.iter_mut().zip(g).zip(x) {
            *lane += g * (x - mean);
        }
    }
    lanes.iter().sum::<f32>() + g_rest.iter().zip(x_rest).map(|(&g, &x)| g * (x - mean)).sum::<f32>()
}

/// The forward pass of a batch: normalised with the batch's statistics in [`Mode::Train`]
/// (which it records for the backward pass and the running statistics), with the running ones
/// in [`Mode::Eval`].
pub(crate) fn forward_batch(
    params: &Params<'_>,
    input: &[f32],
    output: &mut [f32],
    spatial: usize,
    cache: &mut BatchNormCache,
    mode: Mode,
) {
    let channels = params.weight.len();
    cache.resize(channels);
    cache.training = mode == Mode::Train;
    cache.count = input.len() / channels;
    if cache.training {
        let n = cache.count as f64;
        // Each channel's two sums (its planes in order of the samples) on one thread: the
        // same values whatever the split.
        let planes = input.len() / spatial;
        split_rows(
            &mut cache.sums,
            2,
            2 * planes / channels * spatial,
            PARALLEL_MIN_VALUES,
            |first, sums| {
                // Channels `first / 2..`, the samples' planes in memory order (sequential for the
                // whole range on one thread).
                let (c0, range) = (first / 2, sums.len() / 2);
                let plane = |b: usize, i: usize| &input[(b * channels + c0 + i) * spatial..][..spatial];
                sums.fill(0.0);
                for b in 0..planes / channels {
                    for i in 0..range {
                        sums[2 * i] += f64::from(sum(plane(b, i)));
                    }
                }
                for sums in sums.chunks_exact_mut(2) {
                    sums[0] = f64::from((sums[0] / n) as f32);
                }
                for b in 0..planes / channels {
                    for i in 0..range {
                        sums[2 * i + 1] += f64::from(sum_squared_deviations(plane(b, i), sums[2 * i] as f32));
                    }
                }
            },
        );
        for (c, sums) in cache.sums.chunks_exact(2).enumerate() {
            cache.mean[c] = sums[0] as f32;
            let biased = sums[1] / n;
            cache.batch_var[c] = biased as f32;
            cache.inv_std[c] = (1.0 / (biased + f64::from(EPS)).sqrt()) as f32;
        }
    } else {
        cache.mean.copy_from_slice(params.running_mean);
        for (inv_std, &var) in cache.inv_std.iter_mut().zip(params.running_var) {
            *inv_std = 1.0 / (var + EPS).sqrt();
        }
    }
    normalize(params, &cache.mean, &cache.inv_std, input, output, spatial);
}

/// `y = (x - mean) * (weight * inv_std) + bias`, plane by plane.
fn normalize(params: &Params<'_>, mean: &[f32], inv_std: &[f32], input: &[f32], output: &mut [f32], spatial: usize) {
    let channels = params.weight.len();
    split_rows(output, spatial, 1, PARALLEL_MIN_VALUES, |first, output| {
        let planes = input[first..]
            .chunks_exact(spatial)
            .zip(output.chunks_exact_mut(spatial));
        for (index, (x, y)) in planes.enumerate() {
            let c = (first / spatial + index) % channels;
            let (mean, scale, shift) = (mean[c], params.weight[c] * inv_std[c], params.bias[c]);
            for (y, &x) in y.iter_mut().zip(x) {
                *y = (x - mean) * scale + shift;
            }
        }
    });
}

/// One sample in evaluation mode (running statistics), without allocating.
pub(crate) fn forward_sample(params: &Params<'_>, input: &[f32], output: &mut [f32], spatial: usize) {
    let planes = input.chunks_exact(spatial).zip(output.chunks_exact_mut(spatial));
    for (c, (x, y)) in planes.enumerate() {
        let inv_std = 1.0 / (params.running_var[c] + EPS).sqrt();
        let (mean, scale, shift) = (params.running_mean[c], params.weight[c] * inv_std, params.bias[c]);
        for (y, &x) in y.iter_mut().zip(x) {
            *y = (x - mean) * scale + shift;
        }
    }
}

/// The backward pass of the last [`forward_batch`]: `grad_weight` and `grad_bias` (overwritten)
/// and, when asked, `grad_input`. After a training pass the gradient flows through the batch's
/// mean and variance too: with `x_hat = (x - mean) * inv_std` and `n` values per channel,
/// `dx = weight * inv_std * (g - sum(g) / n - x_hat * sum(g * x_hat) / n)`; after an evaluation
/// pass the statistics are constants and `dx = weight * inv_std * g`.
#[allow(clippy::too_many_arguments)] // the slices of one layer, named rather than bundled
pub(crate) fn backward_batch(
    weight: &[f32],
    input: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    spatial: usize,
    cache: &mut BatchNormCache,
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    let channels = weight.len();
    let mean = &cache.mean;
    let planes = input.len() / spatial;
    // Each channel's two sums on one thread, its planes in order of the samples, in memory
    // order within the thread's channels.
    split_rows(
        &mut cache.sums,
        2,
        2 * planes / channels * spatial,
        PARALLEL_MIN_VALUES,
        |first, sums| {
            let (c0, range) = (first / 2, sums.len() / 2);
            sums.fill(0.0);
            for b in 0..planes / channels {
                for i in 0..range {
                    let at = (b * channels + c0 + i) * spatial;
                    let (g, x) = (&grad_output[at..][..spatial], &input[at..][..spatial]);
                    sums[2 * i] += f64::from(sum(g));
                    sums[2 * i + 1] += f64::from(sum_products_of_deviations(g, x, mean[c0 + i]));
                }
            }
        },
    );
    for (c, sums) in cache.sums.chunks_exact(2).enumerate() {
        grad_bias[c] = sums[0] as f32;
        grad_weight[c] = (sums[1] * f64::from(cache.inv_std[c])) as f32;
    }
    let Some(grad_input) = grad_input else { return };
    let n = cache.count as f32;
    let (grad_bias, grad_weight) = (&*grad_bias, &*grad_weight);
    let (mean, inv_std, training) = (&cache.mean, &cache.inv_std, cache.training);
    split_rows(grad_input, spatial, 2, PARALLEL_MIN_VALUES, |first, grad_input| {
        let planes = grad_output[first..]
            .chunks_exact(spatial)
            .zip(input[first..].chunks_exact(spatial))
            .zip(grad_input.chunks_exact_mut(spatial));
        for (index, ((g, x), dx)) in planes.enumerate() {
            let c = (first / spatial + index) % channels;
            let (mean, inv_std) = (mean[c], inv_std[c]);
            let scale = weight[c] * inv_std;
            // dx = scale * g + shift + (x - mean) * slope, with the batch terms zero in evaluation.
            let (shift, slope) = if training {
                (-scale * grad_bias[c] / n, -scale * inv_std * grad_weight[c] / n)
            } else {
                (0.0, 0.0)
            };
            for ((dx, &g), &x) in dx.iter_mut().zip(g).zip(x) {
                *dx = scale * g + shift + (x - mean) * slope;
            }
        }
    });
}

/// PyTorch's running-statistics update after a training pass (nothing after an evaluation
/// pass): `running = (1 - 0.1) * running + 0.1 * batch`, with the batch's unbiased variance
/// (`n / (n - 1)` times the biased one), and `num_batches_tracked + 1`. With one value per channel
/// the unbiased variance is undefined (PyTorch refuses such a batch), so the running variance is
/// left as it is.
pub(crate) fn update_statistics(
    cache: &BatchNormCache,
    running_mean: &mut [f32],
    running_var: &mut [f32],
    num_batches_tracked: &mut i64,
) {
    if !cache.training {
        return;
    }
    let n = cache.count as f32;
    for (running, &mean) in running_mean.iter_mut().zip(&cache.mean) {
        *running = (1.0 - MOMENTUM) * *running + MOMENTUM * mean;
    }
    if cache.count > 1 {
        for (running, &var) in running_var.iter_mut().zip(&cache.batch_var) {
            *running = (1.0 - MOMENTUM) * *running + MOMENTUM * var * n / (n - 1.0);
        }
    }
    *num_batches_tracked += 1;
}

/// The type, its `Debug` and its `Module` implementation (parameters `weight`, `bias`; buffers
/// `running_mean`, `running_var`; counter `num_batches_tracked`, in PyTorch's `state_dict` order).
macro_rules! batch_norm_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq)]
        pub struct $name<const C: usize> {
            /// Multiplies each normalised channel (PyTorch's `weight`, initialised to 1).
            pub weight: $crate::AlignedBox<[f32; C]>,
            /// Added to each channel after scaling (initialised to 0).
            pub bias: $crate::AlignedBox<[f32; C]>,
            /// The mean evaluation normalises with (a buffer, initialised to 0).
            pub running_mean: $crate::AlignedBox<[f32; C]>,
            /// The variance evaluation normalises with (a buffer, initialised to 1).
            pub running_var: $crate::AlignedBox<[f32; C]>,
            /// Training batches seen, saved as PyTorch's `num_batches_tracked`.
            pub num_batches_tracked: i64,
            /// Whether training leaves the weight and bias alone ([`Module::set_frozen`]).
            frozen: bool,
        }

        /// Shows the shapes, not the numbers.
        impl<const C: usize> std::fmt::Debug for $name<C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "{}<{C}> {{ weight: [{C}], bias: [{C}], running_mean: [{C}], running_var: [{C}], num_batches_tracked: {} }}",
                    stringify!($name),
                    self.num_batches_tracked
                )
            }
        }

        impl<const C: usize> $name<C> {
            fn params(&self) -> $crate::layer::batch_norm::Params<'_> {
                $crate::layer::batch_norm::Params {
                    weight: &self.weight[..],
                    bias: &self.bias[..],
                    running_mean: &self.running_mean[..],
                    running_var: &self.running_var[..],
                }
            }
        }

        impl<const C: usize> Module for $name<C> {
            /// PyTorch's `parameters()`: weight and bias; the running statistics are buffers.
            const NUM_PARAMS: usize = 2 * C;

            /// PyTorch's init: weight 1, bias 0, running mean 0, running variance 1 (nothing is
            /// drawn from `rng`).
            fn init_with(_rng: &mut $crate::Rng) -> Self {
                let mut layer = Self::zeros();
                layer.weight.fill(1.0);
                layer
            }

            /// Weight and bias 0; the buffers as [`Module::init_with`] sets them, so that a
            /// partially loaded network normalises sensibly.
            fn zeros() -> Self {
                $name {
                    weight: $crate::AlignedBox::new([0.0; C]),
                    bias: $crate::AlignedBox::new([0.0; C]),
                    running_mean: $crate::AlignedBox::new([0.0; C]),
                    running_var: $crate::AlignedBox::new([1.0; C]),
                    num_batches_tracked: 0,
                    frozen: false,
                }
            }

            fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
                visit(&format!("{prefix}weight"), &[C], &self.weight[..]);
                visit(&format!("{prefix}bias"), &[C], &self.bias[..]);
                visit(&format!("{prefix}running_mean"), &[C], &self.running_mean[..]);
                visit(&format!("{prefix}running_var"), &[C], &self.running_var[..]);
            }

            fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
                visit(&format!("{prefix}weight"), &[C], &mut self.weight[..]);
                visit(&format!("{prefix}bias"), &[C], &mut self.bias[..]);
                visit(&format!("{prefix}running_mean"), &[C], &mut self.running_mean[..]);
                visit(&format!("{prefix}running_var"), &[C], &mut self.running_var[..]);
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

            fn visit_counters(&self, prefix: &str, visit: &mut dyn FnMut(&str, i64)) {
                visit(&format!("{prefix}num_batches_tracked"), self.num_batches_tracked);
            }

            fn visit_counters_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &mut i64)) {
                visit(&format!("{prefix}num_batches_tracked"), &mut self.num_batches_tracked);
            }
        }
    };
}
pub(crate) use batch_norm_type;

/// The `Layer` methods of a batch norm whose samples hold `spatial` values per channel.
macro_rules! batch_norm_layer_methods {
    ($input:ty, $spatial:expr) => {
        type Output = $input;
        type Cache = $crate::layer::BatchNormCache;

        /// Evaluation mode: the running statistics.
        fn forward(&self, input: &$input) -> $input {
            let mut output = *input;
            $crate::layer::batch_norm::forward_sample(&self.params(), input.flat(), output.flat_mut(), $spatial);
            output
        }

        fn forward_batch(
            &self,
            input: &[$input],
            output: &mut [$input],
            cache: &mut $crate::layer::BatchNormCache,
            mode: Mode,
        ) {
            $crate::layer::batch_norm::forward_batch(
                &self.params(),
                <$input>::flat_batch(input),
                <$input>::flat_batch_mut(output),
                $spatial,
                cache,
                mode,
            );
        }

        fn backward_batch(
            &self,
            input: &[$input],
            _output: &[$input],
            grad_output: &[$input],
            grad_input: Option<&mut [$input]>,
            cache: &mut $crate::layer::BatchNormCache,
            grads: &mut Self,
        ) {
            $crate::layer::batch_norm::backward_batch(
                &self.weight[..],
                <$input>::flat_batch(input),
                <$input>::flat_batch(grad_output),
                grad_input.map(<$input>::flat_batch_mut),
                $spatial,
                cache,
                &mut grads.weight[..],
                &mut grads.bias[..],
            );
        }

        fn update_statistics(&mut self, cache: &$crate::layer::BatchNormCache) {
            $crate::layer::batch_norm::update_statistics(
                cache,
                &mut self.running_mean[..],
                &mut self.running_var[..],
                &mut self.num_batches_tracked,
            );
        }
    };
}
pub(crate) use batch_norm_layer_methods;
