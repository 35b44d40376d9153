//! `Softmax` and `LogSoftmax` over the last dimension, as `torch.nn.Softmax(dim=-1)` and
//! `torch.nn.LogSoftmax(dim=-1)`: one file, because they share the row walk and differ only in
//! the last step of the forward pass and in the backward formula.

use super::{parameterless_module, Layer, Mode};

/// `e^x / sum e^x` over the last dimension, PyTorch's `nn.Softmax(dim=-1)`, for `[f32; N]` and
/// for sequences `[[f32; N]; T]` (each of the `T` rows on its own). Computed from `x - max(x)`,
/// so large values do not overflow.
///
/// For classification, train on logits with [`crate::loss::CrossEntropy`] (which applies a
/// log-softmax itself) and use `Softmax` for probabilities at inference.
///
/// ```
/// use nn::prelude::*;
/// let p = Softmax.forward(&[0.0, 0.0, 1000.0]);
/// assert_eq!(p, [0.0, 0.0, 1.0]);
/// let q = Softmax.forward(&[[1.0, 1.0], [0.0, 2.0f32.ln()]]);
/// assert_eq!(q[0], [0.5, 0.5]);
/// assert!((q[1][1] - 2.0 / 3.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Softmax;

/// `x - ln(sum e^x)` over the last dimension, PyTorch's `nn.LogSoftmax(dim=-1)`, for `[f32; N]`
/// and `[[f32; N]; T]`; stable for large values.
///
/// ```
/// use nn::prelude::*;
/// let y = LogSoftmax.forward(&[0.0, 0.0]);
/// assert!((y[0] + 2.0f32.ln()).abs() < 1e-7);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSoftmax;

parameterless_module!(Softmax);
parameterless_module!(LogSoftmax);

/// `sum e^(x - max)` and `max` of one row.
fn exp_sum(row: &[f32]) -> (f32, f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (row.iter().map(|&x| (x - max).exp()).sum(), max)
}

/// The row-wise forward and backward passes on flat batches of rows of length `N`.
trait RowWise {
    fn forward_row(input: &[f32], output: &mut [f32]);
    fn backward_row(output: &[f32], grad_output: &[f32], grad_input: &mut [f32]);

    fn forward_rows<const N: usize>(input: &[f32], output: &mut [f32]) {
        for (x, y) in input.chunks_exact(N).zip(output.chunks_exact_mut(N)) {
            Self::forward_row(x, y);
        }
    }

    fn backward_rows<const N: usize>(output: &[f32], grad_output: &[f32], grad_input: Option<&mut [f32]>) {
        let Some(grad_input) = grad_input else { return };
        let rows = output.chunks_exact(N).zip(grad_output.chunks_exact(N));
        for ((y, g), gx) in rows.zip(grad_input.chunks_exact_mut(N)) {
            Self::backward_row(y, g, gx);
        }
    }
}

impl RowWise for Softmax {
    fn forward_row(input: &[f32], output: &mut [f32]) {
        let (sum, max) = exp_sum(input);
        for (y, &x) in output.iter_mut().zip(input) {
            *y = (x - max).exp() / sum;
        }
    }

    /// `dx = y * (g - sum(g * y))`: the Jacobian `diag(y) - y y^T` applied to `g`.
    fn backward_row(output: &[f32], grad_output: &[f32], grad_input: &mut [f32]) {
        let dot: f32 = output.iter().zip(grad_output).map(|(y, g)| y * g).sum();
        for ((gx, &y), &g) in grad_input.iter_mut().zip(output).zip(grad_output) {
            *gx = y * (g - dot);
        }
    }
}

impl RowWise for LogSoftmax {
    fn forward_row(input: &[f32], output: &mut [f32]) {
        let (sum, max) = exp_sum(input);
        let log_sum = sum.ln();
        for (y, &x) in output.iter_mut().zip(input) {
            *y = x - max - log_sum;
        }
    }

    /// `dx = g - e^y * sum(g)`, `e^y` being the softmax.
    fn backward_row(output: &[f32], grad_output: &[f32], grad_input: &mut [f32]) {
        let sum: f32 = grad_output.iter().sum();
        for ((gx, &y), &g) in grad_input.iter_mut().zip(output).zip(grad_output) {
            *gx = g - y.exp() * sum;
        }
    }
}

/// `Layer` for one row `[f32; N]` and for a sequence of rows `[[f32; N]; T]`.
macro_rules! row_wise_layer {
    ($layer:ty, $input:ty $(, const $dim:ident)*) => {
        impl<$(const $dim: usize,)* const N: usize> Layer<$input> for $layer {
            type Output = $input;
            type Cache = ();

            fn forward(&self, input: &$input) -> $input {
                let mut output = *input;
                <$layer>::forward_rows::<N>(crate::Tensor::flat(input), crate::Tensor::flat_mut(&mut output));
                output
            }

            fn forward_batch(&self, input: &[$input], output: &mut [$input], _cache: &mut (), _mode: Mode) {
                <$layer>::forward_rows::<N>(
                    <$input as crate::Tensor>::flat_batch(input),
                    <$input as crate::Tensor>::flat_batch_mut(output),
                );
            }

            fn backward_batch(
                &self,
                _input: &[$input],
                output: &[$input],
                grad_output: &[$input],
                grad_input: Option<&mut [$input]>,
                _cache: &mut (),
                _grads: &mut Self,
            ) {
                <$layer>::backward_rows::<N>(
                    <$input as crate::Tensor>::flat_batch(output),
                    <$input as crate::Tensor>::flat_batch(grad_output),
                    grad_input.map(<$input as crate::Tensor>::flat_batch_mut),
                );
            }
        }
    };
}

row_wise_layer!(Softmax, [f32; N]);
row_wise_layer!(Softmax, [[f32; N]; T], const T);
row_wise_layer!(LogSoftmax, [f32; N]);
row_wise_layer!(LogSoftmax, [[f32; N]; T], const T);
