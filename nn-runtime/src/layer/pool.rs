//! `MaxPool2d` and `AvgPool2d`: square windows over each channel of a `[C, H, W]` image, as
//! PyTorch's `nn.MaxPool2d(K, stride=S)` and `nn.AvgPool2d(K, stride=S)` (no padding, sizes
//! floored).
//!
//! In `network!` write `MaxPool2d<2>` or `MaxPool2d<3>(stride = 2)`: the stride defaults to the
//! window, as in PyTorch, and the macro fills in the output size (`MaxPool2d<2, 2, 14, 14>`).

use super::{parameterless_module, Layer, Mode};
use crate::threads::{split_rows, split_rows_with};
use crate::Tensor;

/// Input values of a batch from which max-pooling is split across the kernel threads (by
/// samples): below, waking a second thread costs more than it saves.
const PARALLEL_MIN_VALUES: usize = 32_768;

/// The largest value of each `K`x`K` window, moving `STRIDE` at a time, PyTorch's
/// `nn.MaxPool2d(K, stride=STRIDE)`; the output is `[C, H_OUT, W_OUT]`.
///
/// As in PyTorch, NaN wins over any number, and when several values tie for the maximum the
/// first in the window (row by row) receives the gradient.
///
/// ```
/// use nn::prelude::*;
/// let image = [[[1.0, 2.0, 0.0, 0.0], [3.0, 4.0, 0.0, 9.0]]];
/// assert_eq!(MaxPool2d::<2, 2, 1, 2>.forward(&image), [[[4.0, 9.0]]]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxPool2d<const K: usize, const STRIDE: usize, const H_OUT: usize, const W_OUT: usize>;

/// The mean of each `K`x`K` window, moving `STRIDE` at a time, PyTorch's
/// `nn.AvgPool2d(K, stride=STRIDE)`; the output is `[C, H_OUT, W_OUT]`.
///
/// ```
/// use nn::prelude::*;
/// let image = [[[1.0, 2.0, 0.0, 0.0], [3.0, 4.0, 0.0, 8.0]]];
/// assert_eq!(AvgPool2d::<2, 2, 1, 2>.forward(&image), [[[2.5, 2.0]]]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AvgPool2d<const K: usize, const STRIDE: usize, const H_OUT: usize, const W_OUT: usize>;

parameterless_module!(MaxPool2d<K, STRIDE, H_OUT, W_OUT>, const K, const STRIDE, const H_OUT, const W_OUT);
parameterless_module!(AvgPool2d<K, STRIDE, H_OUT, W_OUT>, const K, const STRIDE, const H_OUT, const W_OUT);

/// The sizes of one pooling, per channel plane.
#[derive(Clone, Copy)]
struct Window {
    kernel: usize,
    stride: usize,
    in_height: usize,
    in_width: usize,
    out_height: usize,
    out_width: usize,
}

impl Window {
    /// Checked at compile time for each instantiation: the output size must be PyTorch's.
    const fn new<const K: usize, const S: usize, const H: usize, const W: usize, const HO: usize, const WO: usize>(
    ) -> Window {
        assert!(
            K >= 1 && S >= 1,
            "pooling: the window and the stride must be at least 1"
        );
        assert!(K <= H && K <= W, "pooling: the window must fit in the input");
        assert!(
            HO == (H - K) / S + 1 && WO == (W - K) / S + 1,
            "pooling: H_OUT and W_OUT must be (H - K) / STRIDE + 1 and (W - K) / STRIDE + 1"
        );
        Window {
            kernel: K,
            stride: S,
            in_height: H,
            in_width: W,
            out_height: HO,
            out_width: WO,
        }
    }

    /// Calls `visit(output_index, first)` for every output position of one plane, `first`
    /// being the plane index of its window's top-left value.
    #[inline]
    fn for_each(&self, mut visit: impl FnMut(usize, usize)) {
        for oy in 0..self.out_height {
            for ox in 0..self.out_width {
                visit(
                    oy * self.out_width + ox,
                    oy * self.stride * self.in_width + ox * self.stride,
                );
            }
        }
    }

    /// The plane indices of the window whose top-left value is `first`, row by row.
    #[inline]
    fn indices(&self, first: usize) -> impl Iterator<Item = usize> {
        let (kernel, width) = (self.kernel, self.in_width);
        (0..kernel).flat_map(move |row| {
            let start = first + row * width;
            start..start + kernel
        })
    }

    fn in_plane(&self) -> usize {
        self.in_height * self.in_width
    }

    fn out_plane(&self) -> usize {
        self.out_height * self.out_width
    }
}

/// Output positions of one row max-pooled together (the buffers live on the stack).
const ROW_BLOCK: usize = 64;

/// Max-pools every plane of `input` (a batch of images, flat) into `output`; records in
/// `argmax` (when given) the plane index each output came from.
///
/// PyTorch's rule: the first strictly larger value, or the first NaN, visiting each window row
/// by row. The loops run over the window's offsets outside and the outputs of a row inside, so
/// the inner loop has no dependence from one step to the next and compiles to vector compares
/// and blends: a loop over each window's values, a chain of unpredictable compare-and-branch,
/// made max-pooling a quarter of a LeNet training step.
fn max_pool(window: &Window, input: &[f32], output: &mut [f32], mut argmax_out: Option<&mut [u32]>) {
    let (kernel, stride, width) = (window.kernel, window.stride, window.in_width);
    let (mut best_value, mut best_index) = ([0.0f32; ROW_BLOCK], [0u32; ROW_BLOCK]);
    let planes = input
        .chunks_exact(window.in_plane())
        .zip(output.chunks_exact_mut(window.out_plane()));
    for (plane_index, (plane, out)) in planes.enumerate() {
        for oy in 0..window.out_height {
            for first_x in (0..window.out_width).step_by(ROW_BLOCK) {
                let n = ROW_BLOCK.min(window.out_width - first_x);
                let top_left = oy * stride * width + first_x * stride;
                let (best_value, best_index) = (&mut best_value[..n], &mut best_index[..n]);
                for (ox, (best, index)) in best_value.iter_mut().zip(best_index.iter_mut()).enumerate() {
                    *index = (top_left + ox * stride) as u32;
                    *best = plane[*index as usize];
                }
                for ky in 0..kernel {
                    // The top-left value of each window is where the search starts.
                    for kx in usize::from(ky == 0)..kernel {
                        let start = top_left + ky * width + kx;
                        // Every index read: `start + (n - 1) * stride` is inside the plane.
                        let values = &plane[start..=start + (n - 1) * stride];
                        match stride {
                            1 => take_larger::<1>(values, start, best_value, best_index),
                            2 => take_larger::<2>(values, start, best_value, best_index),
                            _ => take_larger_strided(values, stride, start, best_value, best_index),
                        }
                    }
                }
                let o = oy * window.out_width + first_x;
                out[o..o + n].copy_from_slice(best_value);
                if let Some(argmax) = argmax_out.as_deref_mut() {
                    let o = plane_index * window.out_plane() + o;
                    argmax[o..o + n].copy_from_slice(best_index);
                }
            }
        }
    }
}

/// For each output `ox`: if `values[ox * S]` beats `best_value[ox]` (larger, or the first NaN),
/// takes it and its plane index `start + ox * S`. A compile-time stride lets the loop run as
/// vector compares and blends.
#[inline]
fn take_larger<const S: usize>(values: &[f32], start: usize, best_value: &mut [f32], best_index: &mut [u32]) {
    let n = best_value.len();
    assert!(best_index.len() == n && values.len() == (n - 1) * S + 1);
    for ox in 0..n {
        take_if_larger(
            values[ox * S],
            (start + ox * S) as u32,
            &mut best_value[ox],
            &mut best_index[ox],
        );
    }
}

/// [`take_larger`] for any stride.
fn take_larger_strided(values: &[f32], stride: usize, start: usize, best_value: &mut [f32], best_index: &mut [u32]) {
    for (ox, (best, index)) in best_value.iter_mut().zip(best_index).enumerate() {
        take_if_larger(values[ox * stride], (start + ox * stride) as u32, best, index);
    }
}

/// PyTorch's max-pooling step: `value` replaces `best` if it is larger, or NaN while `best` is
/// not. Bit masks rather than `if`, so that nothing becomes a branch.
#[inline(always)]
fn take_if_larger(value: f32, index: u32, best: &mut f32, best_index: &mut u32) {
    let take = (value > *best) | (value.is_nan() & !best.is_nan());
    let mask = u32::from(take).wrapping_neg();
    *best = f32::from_bits((value.to_bits() & mask) | (best.to_bits() & !mask));
    *best_index = (index & mask) | (*best_index & !mask);
}

/// Averages every window of every plane.
fn avg_pool(window: &Window, input: &[f32], output: &mut [f32]) {
    let scale = 1.0 / (window.kernel * window.kernel) as f32;
    let planes = input
        .chunks_exact(window.in_plane())
        .zip(output.chunks_exact_mut(window.out_plane()));
    for (plane, out) in planes {
        window.for_each(|o, first| out[o] = window.indices(first).map(|i| plane[i]).sum::<f32>() * scale);
    }
}

impl<
        const K: usize,
        const S: usize,
        const C: usize,
        const H: usize,
        const W: usize,
        const H_OUT: usize,
        const W_OUT: usize,
    > Layer<[[[f32; W]; H]; C]> for MaxPool2d<K, S, H_OUT, W_OUT>
{
    type Output = [[[f32; W_OUT]; H_OUT]; C];
    /// Where each output came from (index into its input plane), for the backward pass.
    type Cache = Vec<u32>;

    fn forward(&self, input: &[[[f32; W]; H]; C]) -> Self::Output {
        let window = const { Window::new::<K, S, H, W, H_OUT, W_OUT>() };
        let mut output = [[[0.0; W_OUT]; H_OUT]; C];
        max_pool(
            &window,
            input.as_flattened().as_flattened(),
            output.as_flattened_mut().as_flattened_mut(),
            None,
        );
        output
    }

    /// Records where each maximum came from in both modes (it costs little), so a backward
    /// pass always has them.
    fn forward_batch(
        &self,
        input: &[[[[f32; W]; H]; C]],
        output: &mut [Self::Output],
        cache: &mut Vec<u32>,
        _mode: Mode,
    ) {
        let window = const { Window::new::<K, S, H, W, H_OUT, W_OUT>() };
        let per_sample = Self::Output::LEN;
        let len = output.len() * per_sample;
        if cache.len() < len {
            cache.resize(len, 0);
        }
        // Samples are pooled independently, so splitting them across threads changes nothing.
        split_rows_with(
            output,
            &mut cache[..len],
            per_sample,
            C * H * W,
            PARALLEL_MIN_VALUES,
            |first, output, argmax| {
                let input = &input[first..first + output.len()];
                max_pool(
                    &window,
                    Tensor::flat_batch(input),
                    Self::Output::flat_batch_mut(output),
                    Some(argmax),
                );
            },
        );
    }

    fn backward_batch(
        &self,
        _input: &[[[[f32; W]; H]; C]],
        _output: &[Self::Output],
        grad_output: &[Self::Output],
        grad_input: Option<&mut [[[[f32; W]; H]; C]]>,
        cache: &mut Vec<u32>,
        _grads: &mut Self,
    ) {
        let window = const { Window::new::<K, S, H, W, H_OUT, W_OUT>() };
        let Some(grad_input) = grad_input else { return };
        let per_sample = Self::Output::LEN;
        split_rows(grad_input, 1, C * H * W, PARALLEL_MIN_VALUES, |first, grad_input| {
            let samples = first..first + grad_input.len();
            let grad_output = Self::Output::flat_batch(&grad_output[samples.clone()]);
            let argmax = &cache[samples.start * per_sample..samples.end * per_sample];
            let grad_input = Tensor::flat_batch_mut(grad_input);
            grad_input.fill(0.0);
            let planes = grad_input.chunks_exact_mut(window.in_plane());
            let sources = grad_output
                .chunks_exact(window.out_plane())
                .zip(argmax.chunks_exact(window.out_plane()));
            for (grad_plane, (grads, argmax)) in planes.zip(sources) {
                for (&grad, &index) in grads.iter().zip(argmax) {
                    grad_plane[index as usize] += grad;
                }
            }
        });
    }
}

impl<
        const K: usize,
        const S: usize,
        const C: usize,
        const H: usize,
        const W: usize,
        const H_OUT: usize,
        const W_OUT: usize,
    > Layer<[[[f32; W]; H]; C]> for AvgPool2d<K, S, H_OUT, W_OUT>
{
    type Output = [[[f32; W_OUT]; H_OUT]; C];
    type Cache = ();

    fn forward(&self, input: &[[[f32; W]; H]; C]) -> Self::Output {
        let window = const { Window::new::<K, S, H, W, H_OUT, W_OUT>() };
        let mut output = [[[0.0; W_OUT]; H_OUT]; C];
        avg_pool(
            &window,
            input.as_flattened().as_flattened(),
            output.as_flattened_mut().as_flattened_mut(),
        );
        output
    }

    fn forward_batch(&self, input: &[[[[f32; W]; H]; C]], output: &mut [Self::Output], _cache: &mut (), _mode: Mode) {
        let window = const { Window::new::<K, S, H, W, H_OUT, W_OUT>() };
        avg_pool(&window, Tensor::flat_batch(input), Self::Output::flat_batch_mut(output));
    }

    fn backward_batch(
        &self,
        _input: &[[[[f32; W]; H]; C]],
        _output: &[Self::Output],
        grad_output: &[Self::Output],
        grad_input: Option<&mut [[[[f32; W]; H]; C]]>,
        _cache: &mut (),
        _grads: &mut Self,
    ) {
        let window = const { Window::new::<K, S, H, W, H_OUT, W_OUT>() };
        let Some(grad_input) = grad_input else { return };
        let scale = 1.0 / (K * K) as f32;
        let grad_input = Tensor::flat_batch_mut(grad_input);
        grad_input.fill(0.0);
        let planes = grad_input.chunks_exact_mut(window.in_plane());
        for (grad_plane, grads) in planes.zip(Self::Output::flat_batch(grad_output).chunks_exact(window.out_plane())) {
            window.for_each(|o, first| {
                let grad = grads[o] * scale;
                window.indices(first).for_each(|i| grad_plane[i] += grad);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's rule written the plainest way: each window row by row, the first value that is
    /// larger than the best so far or is the first NaN.
    fn reference(window: &Window, plane: &[f32]) -> Vec<(f32, u32)> {
        let mut found = Vec::new();
        for oy in 0..window.out_height {
            for ox in 0..window.out_width {
                let mut best: Option<usize> = None;
                for ky in 0..window.kernel {
                    for kx in 0..window.kernel {
                        let index = (oy * window.stride + ky) * window.in_width + ox * window.stride + kx;
                        let better = match best {
                            None => true,
                            Some(b) => plane[index] > plane[b] || (plane[index].is_nan() && !plane[b].is_nan()),
                        };
                        if better {
                            best = Some(index);
                        }
                    }
                }
                let best = best.expect("a window is not empty");
                found.push((plane[best], best as u32));
            }
        }
        found
    }

    fn check<const K: usize, const S: usize, const H: usize, const W: usize, const HO: usize, const WO: usize>() {
        let window = const { Window::new::<K, S, H, W, HO, WO>() };
        let mut rng = crate::Rng::seed(3);
        for trial in 0..20 {
            // Few distinct values, so windows hold ties; some NaNs in later trials.
            let plane: Vec<f32> = (0..H * W)
                .map(|_| match rng.below(12) {
                    0 if trial >= 10 => f32::NAN,
                    v => (v % 4) as f32 - 1.5,
                })
                .collect();
            let mut output = vec![0.0; HO * WO];
            let mut argmax = vec![0; HO * WO];
            max_pool(&window, &plane, &mut output, Some(&mut argmax));
            let expected = reference(&window, &plane);
            for (o, &(value, index)) in expected.iter().enumerate() {
                assert_eq!(argmax[o], index, "K={K} S={S} trial {trial}: argmax of output {o}");
                assert_eq!(
                    output[o].to_bits(),
                    value.to_bits(),
                    "K={K} S={S} trial {trial}: output {o}"
                );
            }
        }
    }

    #[test]
    fn max_pool_follows_torchs_rule_for_every_stride_path() {
        check::<2, 2, 28, 28, 14, 14>(); // `take_larger::<2>`
        check::<2, 1, 7, 9, 6, 8>(); // `take_larger::<1>`
        check::<3, 3, 11, 10, 3, 3>(); // `take_larger_strided`
        check::<3, 2, 9, 8, 4, 3>();
        check::<2, 2, 4, 150, 2, 75>(); // rows longer than one block of outputs
    }
}
