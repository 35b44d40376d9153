//! `Conv2d`: a 2-D convolution over `[C, H, W]` images, as `torch.nn.Conv2d`.
//!
//! In `network!` write the sizes PyTorch's constructor takes, `Conv2d<1, 6, 5>` for
//! `nn.Conv2d(1, 6, 5)`, with `(stride = S, padding = P)` when they are not 1 and 0; the macro
//! computes the output size and fills it in (`Conv2d<1, 6, 5, 1, 2, 28, 28>`), because stable
//! Rust cannot compute an array length from generic parameters.

use super::{Layer, Mode, Module};
use crate::kernel::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvShape};
use crate::AlignedBox;
use crate::{Rng, Tensor};

/// A 2-D convolution from `IN` to `OUT` channels with a `K`x`K` kernel, moving `STRIDE` pixels
/// at a time over an input padded with `PADDING` zeros on every side: PyTorch's
/// `nn.Conv2d(IN, OUT, K, stride=STRIDE, padding=PADDING)`. The output is `[OUT, H_OUT, W_OUT]`
/// with `H_OUT = (H + 2 * PADDING - K) / STRIDE + 1` (floored), and likewise `W_OUT`; any other
/// `H_OUT` or `W_OUT` does not compile.
///
/// The weight is stored `[OUT][IN][K][K]`, as PyTorch stores it, on the heap.
///
/// ```
/// use nn::prelude::*;
/// // A 2x2 kernel summing its window, over a 3x3 image: 2x2 outputs.
/// let mut conv = Conv2d::<1, 1, 2, 1, 0, 2, 2>::zeros();
/// conv.weight[0][0] = [[1.0, 1.0], [1.0, 1.0]];
/// let image = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]];
/// assert_eq!(conv.forward(&image), [[[12.0, 16.0], [24.0, 28.0]]]);
/// ```
#[derive(Clone, PartialEq)]
pub struct Conv2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const STRIDE: usize,
    const PADDING: usize,
    const H_OUT: usize,
    const W_OUT: usize,
> {
    /// `weight[o][i][y][x]` multiplies input channel `i` at window offset `(y, x)` into output
    /// channel `o`.
    pub weight: AlignedBox<[[[[f32; K]; K]; IN]; OUT]>,
    /// Added to every value of each output channel.
    pub bias: AlignedBox<[f32; OUT]>,
    /// Whether training leaves the weights alone ([`Module::set_frozen`]).
    frozen: bool,
}

/// Shows the shapes, not the numbers.
impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const STRIDE: usize,
        const PADDING: usize,
        const H_OUT: usize,
        const W_OUT: usize,
    > std::fmt::Debug for Conv2d<IN, OUT, K, STRIDE, PADDING, H_OUT, W_OUT>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Conv2d<{IN}, {OUT}, {K}, stride {STRIDE}, padding {PADDING}> {{ weight: [{OUT}, {IN}, {K}, {K}], bias: [{OUT}], output: [{OUT}, {H_OUT}, {W_OUT}] }}"
        )
    }
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const STRIDE: usize,
        const PADDING: usize,
        const H_OUT: usize,
        const W_OUT: usize,
    > Conv2d<IN, OUT, K, STRIDE, PADDING, H_OUT, W_OUT>
{
    /// The weight as one row-major `[OUT, IN, K, K]` slice.
    fn weight_flat(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened().as_flattened()
    }

    fn weight_flat_mut(&mut self) -> &mut [f32] {
        self.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut()
    }

    /// The sizes the kernels need, checked at compile time for each input size.
    const fn shape<const H: usize, const W: usize>() -> ConvShape {
        assert!(
            K >= 1 && STRIDE >= 1,
            "Conv2d: the kernel and the stride must be at least 1"
        );
        assert!(
            K <= H + 2 * PADDING && K <= W + 2 * PADDING,
            "Conv2d: the kernel must fit in the padded input"
        );
        assert!(
            H_OUT == (H + 2 * PADDING - K) / STRIDE + 1 && W_OUT == (W + 2 * PADDING - K) / STRIDE + 1,
            "Conv2d: H_OUT and W_OUT must be (H + 2 * PADDING - K) / STRIDE + 1 and the same for W"
        );
        ConvShape {
            in_channels: IN,
            out_channels: OUT,
            kernel: K,
            stride: STRIDE,
            padding: PADDING,
            in_height: H,
            in_width: W,
            out_height: H_OUT,
            out_width: W_OUT,
        }
    }
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const STRIDE: usize,
        const PADDING: usize,
        const H_OUT: usize,
        const W_OUT: usize,
    > Module for Conv2d<IN, OUT, K, STRIDE, PADDING, H_OUT, W_OUT>
{
    const NUM_PARAMS: usize = OUT * IN * K * K + OUT;

    /// PyTorch's default: weight and bias uniform in `[-1/sqrt(IN*K*K), 1/sqrt(IN*K*K))`
    /// (`kaiming_uniform_(a=sqrt(5))` reduces to this bound), weight first.
    fn init_with(rng: &mut Rng) -> Self {
        let bound = 1.0 / ((IN * K * K) as f32).sqrt();
        let mut layer = Self::zeros();
        layer
            .weight_flat_mut()
            .iter_mut()
            .for_each(|w| *w = rng.uniform(-bound, bound));
        layer.bias.iter_mut().for_each(|b| *b = rng.uniform(-bound, bound));
        layer
    }

    fn zeros() -> Self {
        Conv2d {
            weight: AlignedBox::zeros(),
            bias: AlignedBox::new([0.0; OUT]),
            frozen: false,
        }
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
        visit(&format!("{prefix}weight"), &[OUT, IN, K, K], self.weight_flat());
        visit(&format!("{prefix}bias"), &[OUT], &self.bias[..]);
    }

    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
        visit(&format!("{prefix}weight"), &[OUT, IN, K, K], self.weight_flat_mut());
        visit(&format!("{prefix}bias"), &[OUT], &mut self.bias[..]);
    }

    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
        if self.frozen {
            return;
        }
        update(self.weight_flat_mut(), grads.weight_flat());
        update(&mut self.bias[..], &grads.bias[..]);
    }

    fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
    }
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const STRIDE: usize,
        const PADDING: usize,
        const H: usize,
        const W: usize,
        const H_OUT: usize,
        const W_OUT: usize,
    > Layer<[[[f32; W]; H]; IN]> for Conv2d<IN, OUT, K, STRIDE, PADDING, H_OUT, W_OUT>
{
    type Output = [[[f32; W_OUT]; H_OUT]; OUT];
    type Cache = ();

    /// The batched kernel on a batch of one: the same bits as the sample would get in a batch.
    fn forward(&self, input: &[[[f32; W]; H]; IN]) -> Self::Output {
        let shape = const { Self::shape::<H, W>() };
        let mut output = Self::Output::zeros();
        conv2d_forward(
            &shape,
            input.flat(),
            self.weight_flat(),
            &self.bias[..],
            output.flat_mut(),
        );
        output
    }

    fn forward_batch(&self, input: &[[[[f32; W]; H]; IN]], output: &mut [Self::Output], _cache: &mut (), _mode: Mode) {
        let shape = const { Self::shape::<H, W>() };
        conv2d_forward(
            &shape,
            Tensor::flat_batch(input),
            self.weight_flat(),
            &self.bias[..],
            Self::Output::flat_batch_mut(output),
        );
    }

    fn backward_batch(
        &self,
        input: &[[[[f32; W]; H]; IN]],
        _output: &[Self::Output],
        grad_output: &[Self::Output],
        grad_input: Option<&mut [[[[f32; W]; H]; IN]]>,
        _cache: &mut (),
        grads: &mut Self,
    ) {
        let shape = const { Self::shape::<H, W>() };
        let grad_output = Self::Output::flat_batch(grad_output);
        // A frozen layer computes no parameter gradient: optimizers skip it anyway.
        if !self.frozen {
            conv2d_backward_weight(
                &shape,
                grad_output,
                Tensor::flat_batch(input),
                grads.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
                &mut grads.bias[..],
            );
        }
        if let Some(grad_input) = grad_input {
            conv2d_backward_input(
                &shape,
                grad_output,
                self.weight_flat(),
                Tensor::flat_batch_mut(grad_input),
            );
        }
    }
}
