//! The three products of a 2-D convolution on flat row-major batches, as PyTorch's
//! `nn.Conv2d` computes them (zero padding, square kernel, one stride for both axes).
//!
//! Each product is a matrix product per sample over the taps `j = (c, ky, kx)` of the kernel
//! (`J = in_channels * kernel * kernel` of them) and the output positions `p = (oy, ox)`
//! (`P = out_height * out_width`): forward `Y[o][p] = b[o] + sum_j W[o][j] X[p, j]`, weight
//! gradient `dW[o][j] = sum over samples and p of G[o][p] X[p, j]`, input gradient
//! `dX[p, j] += sum_o W[o][j] G[o][p]`, where `X[p, j]` is the input value under tap `j` at
//! position `p` (zero in the padding).
//!
//! With AVX2 and FMA (`avx2/`) the products read the input where it lies instead of copying
//! it into an im2col matrix; elsewhere (`portable.rs`) they go through im2col and plain loops.
//!
//! Threads: the forward pass and the input gradient split the batch by whole samples, whose
//! values do not depend on the split. The weight gradient sums fixed groups of [`GROUP`]
//! samples (each group on one thread) and then adds the groups' sums in order, so its bits
//! do not depend on the number of threads either.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod portable;
#[cfg(test)]
mod tests;

use std::cell::RefCell;

use super::PARALLEL_MIN_MACS;
use crate::threads::split_rows;

/// Sizes of one 2-D convolution, per sample: PyTorch's
/// `nn.Conv2d(in_channels, out_channels, kernel, stride, padding)` with a square kernel and the
/// same stride and padding on both axes, applied to `in_height x in_width` images.
///
/// `out_height = (in_height + 2 * padding - kernel) / stride + 1`, and the same for the width;
/// [`ConvShape::new`] computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Channels of the input.
    pub in_channels: usize,
    /// Channels of the output (filters).
    pub out_channels: usize,
    /// Side of the square kernel.
    pub kernel: usize,
    /// Step between two kernel positions, on both axes.
    pub stride: usize,
    /// Zeros added on every side of the input.
    pub padding: usize,
    /// Rows of an input channel.
    pub in_height: usize,
    /// Columns of an input channel.
    pub in_width: usize,
    /// Rows of an output channel.
    pub out_height: usize,
    /// Columns of an output channel.
    pub out_width: usize,
}

impl ConvShape {
    /// The shape of `nn.Conv2d(in_channels, out_channels, kernel, stride, padding)` on
    /// `in_height x in_width` inputs, output sizes computed.
    ///
    /// ```
    /// let shape = nn_runtime::kernel::ConvShape::new(1, 6, 5, 1, 2, 28, 28);
    /// assert_eq!((shape.out_height, shape.out_width), (28, 28));
    /// ```
    pub const fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        in_height: usize,
        in_width: usize,
    ) -> ConvShape {
        assert!(
            kernel > 0 && stride > 0,
            "ConvShape: kernel and stride must be positive"
        );
        assert!(
            in_height + 2 * padding >= kernel && in_width + 2 * padding >= kernel,
            "ConvShape: the kernel is larger than the padded input"
        );
        ConvShape {
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            in_height,
            in_width,
            out_height: (in_height + 2 * padding - kernel) / stride + 1,
            out_width: (in_width + 2 * padding - kernel) / stride + 1,
        }
    }

    /// Values of one input sample: `in_channels * in_height * in_width`.
    pub const fn input_len(&self) -> usize {
        self.in_channels * self.in_height * self.in_width
    }

    /// Values of one output sample: `out_channels * out_height * out_width`.
    pub const fn output_len(&self) -> usize {
        self.out_channels * self.out_height * self.out_width
    }

    /// Values of the weight: `out_channels * in_channels * kernel * kernel`.
    pub const fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// Multiply-adds of one product for one sample (the three products have the same count).
    pub const fn macs_per_sample(&self) -> usize {
        self.weight_len() * self.positions()
    }

    /// Kernel taps per output value, `J = in_channels * kernel * kernel`.
    const fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// Output positions per channel, `P = out_height * out_width`.
    const fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Rows of an input channel with its padding, `in_height + 2 * padding`.
    const fn padded_height(&self) -> usize {
        self.in_height + 2 * self.padding
    }

    /// Columns of an input channel with its padding, `in_width + 2 * padding`.
    const fn padded_width(&self) -> usize {
        self.in_width + 2 * self.padding
    }

    /// Checks the output size against the formula and returns the batch size of `input_len`
    /// values, panicking with `function`'s name.
    fn batch(&self, function: &str, input_len: usize) -> usize {
        let expected = ConvShape::new(
            self.in_channels,
            self.out_channels,
            self.kernel,
            self.stride,
            self.padding,
            self.in_height,
            self.in_width,
        );
        assert!(
            (expected.out_height, expected.out_width) == (self.out_height, self.out_width),
            "{function}: output {}x{} does not match the input, kernel, stride and padding (expected {}x{})",
            self.out_height,
            self.out_width,
            expected.out_height,
            expected.out_width
        );
        let sample = self.input_len();
        assert!(
            sample > 0 && input_len.is_multiple_of(sample),
            "{function}: input length {input_len} is not a whole number of samples of {sample} values"
        );
        input_len / sample
    }
}

/// Checks that `actual` values were given for `what`, `expected` wanted.
fn check_len(function: &str, what: &str, actual: usize, expected: usize) {
    assert_eq!(
        actual, expected,
        "{function}: {what} has {actual} values, expected {expected}"
    );
}

/// Samples per partial sum of the weight gradient: the unit of work of one thread, and the
/// order of the final sum (group 0, then group 1, ...) whatever the number of threads. At
/// batch 64 the 8 groups make 4 equal parts for 2 threads (the pool cuts work into at most 3
/// parts per thread).
const GROUP: usize = 8;

/// Whether this CPU runs the AVX2+FMA kernels.
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

thread_local! {
    /// Buffers of the work done on this thread for one sample or group (padded input,
    /// transposed gradient...); grows to the largest convolution once, then is reused. Only
    /// [`for_each_sample`] and [`for_each_group`] use it.
    static SAMPLE_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Buffers of a whole call, made by the calling thread before the work is split (packed
    /// weights, the groups' partial sums); grows once, like [`SAMPLE_SCRATCH`].
    static CALL_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The flipped weight (and zero bias) with which the input gradient runs as a forward
    /// convolution, which uses [`CALL_SCRATCH`] itself; grows once, like it.
    static FLIP_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Values of a cache line: scratch slices start on one, so that rows of whole registers in
/// them are never split across two lines.
const LINE: usize = 16;

/// Runs `f` with `len` values of `scratch`, starting on a cache line (their contents are left
/// from earlier calls).
fn with_buffer<R>(
    scratch: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    scratch.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        if buffer.len() < len + LINE {
            buffer.resize(len + LINE, 0.0);
        }
        let start = buffer.as_ptr().align_offset(4 * LINE).min(LINE);
        f(&mut buffer[start..start + len])
    })
}

/// Runs `f` with this thread's per-call scratch, `len` values long (not to be used by the
/// tasks given to [`for_each_sample`] or [`for_each_group`]).
fn with_call_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_buffer(&CALL_SCRATCH, len, f)
}

/// Runs `f` with this thread's buffer for a flipped weight, `len` values long.
#[cfg(target_arch = "x86_64")]
fn with_flip_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_buffer(&FLIP_SCRATCH, len, f)
}

/// Calls `task(sample, values, scratch)` for every sample of `out` (`len` values each), on
/// several threads when the work (`macs` multiply-adds per sample) is large enough; `scratch`
/// is `scratch_len` values of the running thread's per-sample scratch.
fn for_each_sample(
    out: &mut [f32],
    len: usize,
    macs: usize,
    scratch_len: usize,
    task: impl Fn(usize, &mut [f32], &mut [f32]) + Sync,
) {
    // The calling thread runs parts too: its scratch grows now, in the first call, even if the
    // other threads happen to take every part of it.
    with_buffer(&SAMPLE_SCRATCH, scratch_len, |_| ());
    split_rows(out, len, macs.div_ceil(len), PARALLEL_MIN_MACS, |first, part| {
        with_buffer(&SAMPLE_SCRATCH, scratch_len, |scratch| {
            for (i, values) in part.chunks_exact_mut(len).enumerate() {
                task(first / len + i, values, scratch);
            }
        })
    });
}

/// Calls `task(samples, partial, scratch)` for every group of [`GROUP`] samples (the last may
/// be smaller), `partial` being the group's `len` values of `partials`, on several threads
/// when the work (`macs` multiply-adds per sample) is large enough; `scratch` is as for
/// [`for_each_sample`].
fn for_each_group(
    partials: &mut [f32],
    len: usize,
    batch: usize,
    macs: usize,
    scratch_len: usize,
    task: impl Fn(std::ops::Range<usize>, &mut [f32], &mut [f32]) + Sync,
) {
    with_buffer(&SAMPLE_SCRATCH, scratch_len, |_| ());
    split_rows(
        partials,
        len,
        (GROUP * macs).div_ceil(len),
        PARALLEL_MIN_MACS,
        |first, part| {
            with_buffer(&SAMPLE_SCRATCH, scratch_len, |scratch| {
                for (i, partial) in part.chunks_exact_mut(len).enumerate() {
                    let start = (first / len + i) * GROUP;
                    task(start..(start + GROUP).min(batch), partial, scratch);
                }
            })
        },
    );
}

/// The convolution of a batch: `output[b][o][oy][ox] = bias[o] + sum over c, ky, kx of
/// weight[o][c][ky][kx] * input[b][c][oy * stride + ky - padding][ox * stride + kx - padding]`
/// (zero outside the input), overwriting `output`.
///
/// `input` is `[batch][in_channels][in_height][in_width]`, `weight`
/// `[out_channels][in_channels][kernel][kernel]` (PyTorch's layout), `bias` `[out_channels]`,
/// `output` `[batch][out_channels][out_height][out_width]`, all flat and row-major; the batch
/// size is `input.len() / shape.input_len()`.
///
/// ```
/// use nn_runtime::kernel::{conv2d_forward, ConvShape};
///
/// // One 3x3 image, one 2x2 filter of ones, stride 1, no padding: sums of 2x2 windows.
/// let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
/// let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let mut output = [0.0; 4];
/// conv2d_forward(&shape, &input, &[1.0; 4], &[0.5], &mut output);
/// assert_eq!(output, [12.5, 16.5, 24.5, 28.5]);
/// ```
pub fn conv2d_forward(shape: &ConvShape, input: &[f32], weight: &[f32], bias: &[f32], output: &mut [f32]) {
    const NAME: &str = "conv2d_forward";
    let batch = shape.batch(NAME, input.len());
    check_len(NAME, "weight", weight.len(), shape.weight_len());
    check_len(NAME, "bias", bias.len(), shape.out_channels);
    check_len(NAME, "output", output.len(), batch * shape.output_len());
    if batch == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            avx2::forward(shape, input, weight, bias, output)
        };
        return;
    }
    portable::forward(shape, input, weight, bias, output);
}

/// The gradient of the loss with respect to the input of [`conv2d_forward`], given its
/// gradient with respect to the output, overwriting `grad_input` (laid out as the input).
///
/// ```
/// use nn_runtime::kernel::{conv2d_backward_input, ConvShape};
///
/// // A 2x2 filter over a 3x3 image: each input value receives the weights that touched it.
/// let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
/// let mut grad_input = [0.0; 9];
/// conv2d_backward_input(&shape, &[1.0; 4], &[1.0, 2.0, 3.0, 4.0], &mut grad_input);
/// assert_eq!(grad_input, [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]);
/// ```
pub fn conv2d_backward_input(shape: &ConvShape, grad_output: &[f32], weight: &[f32], grad_input: &mut [f32]) {
    const NAME: &str = "conv2d_backward_input";
    let batch = shape.batch(NAME, grad_input.len());
    check_len(NAME, "weight", weight.len(), shape.weight_len());
    check_len(NAME, "grad_output", grad_output.len(), batch * shape.output_len());
    if batch == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            avx2::backward_input(shape, grad_output, weight, grad_input)
        };
        return;
    }
    portable::backward_input(shape, grad_output, weight, grad_input);
}

/// The gradients of the loss with respect to the weight and the bias of [`conv2d_forward`],
/// summed over the batch, given its gradient with respect to the output; overwrites
/// `grad_weight` (laid out as the weight) and `grad_bias`.
///
/// ```
/// use nn_runtime::kernel::{conv2d_backward_weight, ConvShape};
///
/// // A 2x2 filter over a 3x3 image: each weight receives the sum of the window it saw.
/// let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
/// let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let (mut grad_weight, mut grad_bias) = ([0.0; 4], [0.0]);
/// conv2d_backward_weight(&shape, &[1.0; 4], &input, &mut grad_weight, &mut grad_bias);
/// assert_eq!((grad_weight, grad_bias), ([12.0, 16.0, 24.0, 28.0], [4.0]));
/// ```
pub fn conv2d_backward_weight(
    shape: &ConvShape,
    grad_output: &[f32],
    input: &[f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    const NAME: &str = "conv2d_backward_weight";
    let batch = shape.batch(NAME, input.len());
    check_len(NAME, "grad_weight", grad_weight.len(), shape.weight_len());
    check_len(NAME, "grad_bias", grad_bias.len(), shape.out_channels);
    check_len(NAME, "grad_output", grad_output.len(), batch * shape.output_len());
    if batch == 0 {
        grad_weight.fill(0.0);
        grad_bias.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            avx2::backward_weight(shape, grad_output, input, grad_weight, grad_bias)
        };
        return;
    }
    portable::backward_weight(shape, grad_output, input, grad_weight, grad_bias);
}
