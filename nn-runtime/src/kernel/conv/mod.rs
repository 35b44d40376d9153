//! The three products of a 2-D convolution on flat row-major batches, as PyTorch's
//! `nn.Conv2d` computes them (zero padding, square kernel, one stride for both axes).
//!
//! Each product is a matrix product per sample over the "column" matrix `Col[J][P]` of the
//! sample (im2col: row `j = (c, ky, kx)` holds the input value under kernel tap `j` for every
//! output position `p = (oy, ox)`, zero where the tap falls in the padding):
//! forward `Y = W Col + b`, weight gradient `dW = sum_samples G Col^T`, input gradient
//! `dX = col2im(W^T G)`.

use std::cell::RefCell;

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
    /// let shape = nn::kernel::ConvShape::new(1, 6, 5, 1, 2, 28, 28);
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

thread_local! {
    /// The column matrix of the last sample on this thread; grows to the largest convolution
    /// once, then is reused (no allocation per step).
    static COLUMNS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's column scratch, at least `len` values long.
fn with_columns<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COLUMNS.with(|columns| {
        let mut columns = columns.borrow_mut();
        if columns.len() < len {
            columns.resize(len, 0.0);
        }
        f(&mut columns[..len])
    })
}

/// `col[j][p]`: the input value under tap `j = (c, ky, kx)` at output position `p = (oy, ox)`,
/// zero in the padding.
fn im2col(shape: &ConvShape, input: &[f32], col: &mut [f32]) {
    let (k, s, pad) = (shape.kernel, shape.stride, shape.padding);
    let positions = shape.positions();
    for c in 0..shape.in_channels {
        let channel = &input[c * shape.in_height * shape.in_width..][..shape.in_height * shape.in_width];
        for ky in 0..k {
            for kx in 0..k {
                let row = &mut col[((c * k + ky) * k + kx) * positions..][..positions];
                for oy in 0..shape.out_height {
                    let out_row = &mut row[oy * shape.out_width..][..shape.out_width];
                    let iy = (oy * s + ky).wrapping_sub(pad);
                    if iy >= shape.in_height {
                        out_row.fill(0.0);
                        continue;
                    }
                    let in_row = &channel[iy * shape.in_width..][..shape.in_width];
                    for (ox, value) in out_row.iter_mut().enumerate() {
                        let ix = (ox * s + kx).wrapping_sub(pad);
                        *value = if ix < shape.in_width { in_row[ix] } else { 0.0 };
                    }
                }
            }
        }
    }
}

/// Adds `col[j][p]` to the input value under tap `j` at position `p` (the transpose of
/// [`im2col`]); taps in the padding are dropped.
fn col2im_add(shape: &ConvShape, col: &[f32], grad_input: &mut [f32]) {
    let (k, s, pad) = (shape.kernel, shape.stride, shape.padding);
    let positions = shape.positions();
    for c in 0..shape.in_channels {
        let channel = &mut grad_input[c * shape.in_height * shape.in_width..][..shape.in_height * shape.in_width];
        for ky in 0..k {
            for kx in 0..k {
                let row = &col[((c * k + ky) * k + kx) * positions..][..positions];
                for oy in 0..shape.out_height {
                    let iy = (oy * s + ky).wrapping_sub(pad);
                    if iy >= shape.in_height {
                        continue;
                    }
                    let in_row = &mut channel[iy * shape.in_width..][..shape.in_width];
                    for (ox, value) in row[oy * shape.out_width..][..shape.out_width].iter().enumerate() {
                        let ix = (ox * s + kx).wrapping_sub(pad);
                        if ix < shape.in_width {
                            in_row[ix] += value;
                        }
                    }
                }
            }
        }
    }
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
/// use nn::kernel::{conv2d_forward, ConvShape};
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
    let (patch, positions) = (shape.patch_len(), shape.positions());
    with_columns(patch * positions, |col| {
        for (x, y) in input
            .chunks_exact(shape.input_len())
            .zip(output.chunks_exact_mut(shape.output_len()))
        {
            im2col(shape, x, col);
            for ((y_row, w_row), b) in y.chunks_exact_mut(positions).zip(weight.chunks_exact(patch)).zip(bias) {
                y_row.fill(*b);
                for (w, col_row) in w_row.iter().zip(col.chunks_exact(positions)) {
                    for (y, x) in y_row.iter_mut().zip(col_row) {
                        *y += w * x;
                    }
                }
            }
        }
    });
}

/// The gradient of the loss with respect to the input of [`conv2d_forward`], given its
/// gradient with respect to the output, overwriting `grad_input` (laid out as the input).
///
/// ```
/// use nn::kernel::{conv2d_backward_input, ConvShape};
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
    let (patch, positions) = (shape.patch_len(), shape.positions());
    with_columns(patch * positions, |col| {
        for (g, dx) in grad_output
            .chunks_exact(shape.output_len())
            .zip(grad_input.chunks_exact_mut(shape.input_len()))
        {
            col.fill(0.0);
            for (w_row, g_row) in weight.chunks_exact(patch).zip(g.chunks_exact(positions)) {
                for (w, col_row) in w_row.iter().zip(col.chunks_exact_mut(positions)) {
                    for (c, g) in col_row.iter_mut().zip(g_row) {
                        *c += w * g;
                    }
                }
            }
            dx.fill(0.0);
            col2im_add(shape, col, dx);
        }
    });
}

/// The gradients of the loss with respect to the weight and the bias of [`conv2d_forward`],
/// summed over the batch, given its gradient with respect to the output; overwrites
/// `grad_weight` (laid out as the weight) and `grad_bias`.
///
/// ```
/// use nn::kernel::{conv2d_backward_weight, ConvShape};
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
    let (patch, positions) = (shape.patch_len(), shape.positions());
    grad_weight.fill(0.0);
    grad_bias.fill(0.0);
    with_columns(patch * positions, |col| {
        for (g, x) in grad_output
            .chunks_exact(shape.output_len())
            .zip(input.chunks_exact(shape.input_len()))
        {
            im2col(shape, x, col);
            for ((dw_row, g_row), db) in grad_weight
                .chunks_exact_mut(patch)
                .zip(g.chunks_exact(positions))
                .zip(&mut *grad_bias)
            {
                *db += g_row.iter().sum::<f32>();
                for (dw, col_row) in dw_row.iter_mut().zip(col.chunks_exact(positions)) {
                    *dw += g_row.iter().zip(col_row).map(|(g, x)| g * x).sum::<f32>();
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
        (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// The seven loops of the definition, in f64.
    fn reference_forward(shape: &ConvShape, input: &[f64], weight: &[f64], bias: &[f64]) -> Vec<f64> {
        let s = shape;
        let batch = input.len() / s.input_len();
        let mut output = vec![0.0; batch * s.output_len()];
        for b in 0..batch {
            for o in 0..s.out_channels {
                for oy in 0..s.out_height {
                    for ox in 0..s.out_width {
                        let mut sum = bias[o];
                        for c in 0..s.in_channels {
                            for ky in 0..s.kernel {
                                for kx in 0..s.kernel {
                                    let iy = (oy * s.stride + ky) as isize - s.padding as isize;
                                    let ix = (ox * s.stride + kx) as isize - s.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= s.in_height as isize || ix >= s.in_width as isize {
                                        continue;
                                    }
                                    let x = input[((b * s.in_channels + c) * s.in_height + iy as usize) * s.in_width
                                        + ix as usize];
                                    sum += weight[((o * s.in_channels + c) * s.kernel + ky) * s.kernel + kx] * x;
                                }
                            }
                        }
                        output[((b * s.out_channels + o) * s.out_height + oy) * s.out_width + ox] = sum;
                    }
                }
            }
        }
        output
    }

    fn to_f64(values: &[f32]) -> Vec<f64> {
        values.iter().map(|&v| f64::from(v)).collect()
    }

    fn assert_close(actual: &[f32], expected: &[f64], scale: f64, what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: length");
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (f64::from(a) - e).abs() <= 1e-5 * scale.max(1.0) * e.abs().max(1.0),
                "{what}[{i}]: {a} vs {e}"
            );
        }
    }

    /// Small shapes covering stride 1 and 2, padding 0, 1 and 2, several channels, odd sizes.
    fn shapes() -> Vec<ConvShape> {
        vec![
            ConvShape::new(1, 1, 1, 1, 0, 4, 4),
            ConvShape::new(2, 3, 3, 1, 0, 7, 6),
            ConvShape::new(3, 4, 3, 1, 1, 6, 7),
            ConvShape::new(2, 5, 3, 2, 1, 9, 8),
            ConvShape::new(3, 2, 5, 1, 2, 8, 9),
            ConvShape::new(4, 3, 4, 2, 2, 7, 7),
            ConvShape::new(1, 6, 5, 1, 2, 12, 12),
            ConvShape::new(6, 16, 5, 1, 0, 7, 6),
            ConvShape::new(5, 7, 2, 2, 0, 6, 5),
        ]
    }

    struct Case {
        shape: ConvShape,
        input: Vec<f32>,
        weight: Vec<f32>,
        bias: Vec<f32>,
        grad_output: Vec<f32>,
    }

    fn case(shape: ConvShape, batch: usize, seed: u64) -> Case {
        let mut rng = Rng::seed(seed);
        Case {
            input: random(&mut rng, batch * shape.input_len()),
            weight: random(&mut rng, shape.weight_len()),
            bias: random(&mut rng, shape.out_channels),
            grad_output: random(&mut rng, batch * shape.output_len()),
            shape,
        }
    }

    #[test]
    fn forward_matches_the_seven_loops() {
        for (i, shape) in shapes().into_iter().enumerate() {
            let case = case(shape, 3, i as u64);
            let mut output = vec![f32::NAN; 3 * shape.output_len()];
            conv2d_forward(&shape, &case.input, &case.weight, &case.bias, &mut output);
            let expected = reference_forward(&shape, &to_f64(&case.input), &to_f64(&case.weight), &to_f64(&case.bias));
            assert_close(
                &output,
                &expected,
                shape.patch_len() as f64,
                &format!("forward {shape:?}"),
            );
        }
    }

    /// `sum(forward(input, weight, bias) * grad_output)` in f64: its derivatives are the
    /// gradients the backward functions compute.
    fn loss(case: &Case, input: &[f64], weight: &[f64], bias: &[f64]) -> f64 {
        let output = reference_forward(&case.shape, input, weight, bias);
        output
            .iter()
            .zip(&case.grad_output)
            .map(|(y, &g)| y * f64::from(g))
            .sum()
    }

    /// Central differences of [`loss`] with respect to every value of `values`, which
    /// `with(values)` substitutes into the loss. The loss is linear in each value, so a step
    /// of 1 is exact up to rounding.
    fn finite_differences(values: &[f32], with: impl Fn(&[f64]) -> f64) -> Vec<f64> {
        let mut point = to_f64(values);
        (0..point.len())
            .map(|i| {
                let original = point[i];
                point[i] = original + 1.0;
                let plus = with(&point);
                point[i] = original - 1.0;
                let minus = with(&point);
                point[i] = original;
                (plus - minus) / 2.0
            })
            .collect()
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (i, shape) in shapes().into_iter().enumerate() {
            let case = case(shape, 3, 100 + i as u64);
            let (input, weight, bias) = (to_f64(&case.input), to_f64(&case.weight), to_f64(&case.bias));
            let scale = (shape.out_channels * shape.positions() * 3) as f64;

            let mut grad_input = vec![f32::NAN; case.input.len()];
            conv2d_backward_input(&shape, &case.grad_output, &case.weight, &mut grad_input);
            let expected = finite_differences(&case.input, |x| loss(&case, x, &weight, &bias));
            assert_close(&grad_input, &expected, scale, &format!("input gradient {shape:?}"));

            let mut grad_weight = vec![f32::NAN; case.weight.len()];
            let mut grad_bias = vec![f32::NAN; shape.out_channels];
            conv2d_backward_weight(&shape, &case.grad_output, &case.input, &mut grad_weight, &mut grad_bias);
            let expected = finite_differences(&case.weight, |w| loss(&case, &input, w, &bias));
            assert_close(&grad_weight, &expected, scale, &format!("weight gradient {shape:?}"));
            let expected = finite_differences(&case.bias, |b| loss(&case, &input, &weight, b));
            assert_close(&grad_bias, &expected, scale, &format!("bias gradient {shape:?}"));
        }
    }

    #[test]
    #[should_panic(expected = "conv2d_forward: weight has 3 values, expected 4")]
    fn forward_names_a_wrong_length() {
        let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
        conv2d_forward(&shape, &[0.0; 9], &[0.0; 3], &[0.0], &mut [0.0; 4]);
    }

    #[test]
    #[should_panic(expected = "conv2d_backward_weight: output 3x3 does not match")]
    fn a_wrong_output_size_is_named() {
        let mut shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
        shape.out_height = 3;
        shape.out_width = 3;
        conv2d_backward_weight(&shape, &[0.0; 9], &[0.0; 9], &mut [0.0; 4], &mut [0.0]);
    }
}
