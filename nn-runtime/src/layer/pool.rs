//! `MaxPool2d` and `AvgPool2d`: square windows over each channel of a `[C, H, W]` image, as
//! PyTorch's `nn.MaxPool2d(K, stride=S)` and `nn.AvgPool2d(K, stride=S)` (no padding, sizes
//! floored).
//!
//! In `network!` write `MaxPool2d<2>` or `MaxPool2d<3>(stride = 2)`: the stride defaults to the
//! window, as in PyTorch, and the macro fills in the output size (`MaxPool2d<2, 2, 14, 14>`).

use super::{parameterless_module, Layer, Mode};
use crate::Tensor;

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

    /// Calls `visit(output_index, window_indices)` for every output position of one plane;
    /// indices are into the plane, row-major.
    fn for_each(&self, mut visit: impl FnMut(usize, &mut dyn Iterator<Item = usize>)) {
        for oy in 0..self.out_height {
            for ox in 0..self.out_width {
                let (top, left) = (oy * self.stride, ox * self.stride);
                let mut indices = (top..top + self.kernel)
                    .flat_map(|y| (left..left + self.kernel).map(move |x| y * self.in_width + x));
                visit(oy * self.out_width + ox, &mut indices);
            }
        }
    }

    fn in_plane(&self) -> usize {
        self.in_height * self.in_width
    }

    fn out_plane(&self) -> usize {
        self.out_height * self.out_width
    }
}

/// The index of the window's maximum, PyTorch's rule: the first strictly larger value or NaN.
fn argmax(plane: &[f32], indices: &mut dyn Iterator<Item = usize>) -> usize {
    let first = indices.next().expect("a window holds at least one value");
    let mut best = first;
    for index in indices {
        let value = plane[index];
        if value > plane[best] || (value.is_nan() && !plane[best].is_nan()) {
            best = index;
        }
    }
    best
}

/// Max-pools every plane of `input` (a batch of images, flat) into `output`; records in
/// `argmax` (when given) the plane index each output came from.
fn max_pool(window: &Window, input: &[f32], output: &mut [f32], mut argmax_out: Option<&mut [u32]>) {
    let planes = input
        .chunks_exact(window.in_plane())
        .zip(output.chunks_exact_mut(window.out_plane()));
    for (plane_index, (plane, out)) in planes.enumerate() {
        window.for_each(|o, indices| {
            let best = argmax(plane, indices);
            out[o] = plane[best];
            if let Some(argmax) = argmax_out.as_deref_mut() {
                argmax[plane_index * window.out_plane() + o] = best as u32;
            }
        });
    }
}

/// Averages every window of every plane.
fn avg_pool(window: &Window, input: &[f32], output: &mut [f32]) {
    let scale = 1.0 / (window.kernel * window.kernel) as f32;
    let planes = input
        .chunks_exact(window.in_plane())
        .zip(output.chunks_exact_mut(window.out_plane()));
    for (plane, out) in planes {
        window.for_each(|o, indices| out[o] = indices.map(|i| plane[i]).sum::<f32>() * scale);
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
        let output = Self::Output::flat_batch_mut(output);
        if cache.len() < output.len() {
            cache.resize(output.len(), 0);
        }
        max_pool(
            &window,
            Tensor::flat_batch(input),
            output,
            Some(&mut cache[..output.len()]),
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
        let grad_output = Self::Output::flat_batch(grad_output);
        let grad_input = Tensor::flat_batch_mut(grad_input);
        grad_input.fill(0.0);
        let planes = grad_input.chunks_exact_mut(window.in_plane());
        let sources = grad_output
            .chunks_exact(window.out_plane())
            .zip(cache.chunks_exact(window.out_plane()));
        for (grad_plane, (grads, argmax)) in planes.zip(sources) {
            for (&grad, &index) in grads.iter().zip(argmax) {
                grad_plane[index as usize] += grad;
            }
        }
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
            window.for_each(|o, indices| {
                let grad = grads[o] * scale;
                indices.for_each(|i| grad_plane[i] += grad);
            });
        }
    }
}
