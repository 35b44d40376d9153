//! `Identity`: passes its input through, as `torch.nn.Identity()`.

use super::{parameterless_module, Layer, Mode};
use crate::Tensor;

/// Gives its input unchanged, PyTorch's `nn.Identity()`: a placeholder in a chain, and the
/// shortcut of a [`Residual`](crate::Residual) block that has none of its own.
///
/// ```
/// use nn::prelude::*;
/// assert_eq!(Identity.forward(&[1.0, -2.0]), [1.0, -2.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity;

parameterless_module!(Identity);

impl<T: Tensor> Layer<T> for Identity {
    type Output = T;
    type Cache = ();

    fn forward(&self, input: &T) -> T {
        *input
    }

    fn forward_batch(&self, input: &[T], output: &mut [T], _cache: &mut (), _mode: Mode) {
        output.copy_from_slice(input);
    }

    fn backward_batch(
        &self,
        _input: &[T],
        _output: &[T],
        grad_output: &[T],
        grad_input: Option<&mut [T]>,
        _cache: &mut (),
        _grads: &mut Self,
    ) {
        if let Some(grad_input) = grad_input {
            grad_input.copy_from_slice(grad_output);
        }
    }
}
