//! `Flatten<N>`: a `[H, W]` or `[C, H, W]` tensor to `[N]`, as `torch.nn.Flatten()`; a flat
//! `[N]` passes through unchanged, as in PyTorch.

use super::{parameterless_module, Layer, Mode};
use crate::Tensor;

/// Flattens a per-sample tensor into `N = H * W` (or `C * H * W`) values, row-major, like
/// PyTorch's `nn.Flatten()`. In `network!` write just `Flatten`: the macro computes `N`.
///
/// A wrong `N` is a compile error (a `const` assertion), so even a hand-written
/// `Flatten<780>` after a `[28, 28]` input cannot build.
///
/// ```
/// use nn::prelude::*;
/// assert_eq!(Flatten::<4>.forward(&[[1.0, 2.0], [3.0, 4.0]]), [1.0, 2.0, 3.0, 4.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

parameterless_module!(Flatten<N>, const N);

/// Implements `Flatten` for one input rank.
macro_rules! flatten_from {
    ($input:ty, $($dim:ident),+) => {
        impl<$(const $dim: usize,)+ const N: usize> Layer<$input> for Flatten<N> {
            type Output = [f32; N];
            type Cache = ();

            fn forward(&self, input: &$input) -> [f32; N] {
                const { assert!($($dim *)+ 1 == N, "Flatten<N>: N must be the product of the input's dimensions") };
                let mut output = [0.0; N];
                output.copy_from_slice(input.flat());
                output
            }

            fn forward_batch(&self, input: &[$input], output: &mut [[f32; N]], _cache: &mut (), _mode: Mode) {
                const { assert!($($dim *)+ 1 == N, "Flatten<N>: N must be the product of the input's dimensions") };
                output.as_flattened_mut().copy_from_slice(<$input>::flat_batch(input));
            }

            fn backward_batch(
                &self,
                _input: &[$input],
                _output: &[[f32; N]],
                grad_output: &[[f32; N]],
                grad_input: Option<&mut [$input]>,
                _cache: &mut (),
                _grads: &mut Self,
            ) {
                if let Some(grad_input) = grad_input {
                    <$input>::flat_batch_mut(grad_input).copy_from_slice(grad_output.as_flattened());
                }
            }
        }
    };
}

flatten_from!([f32; M], M);
flatten_from!([[f32; W]; H], H, W);
flatten_from!([[[f32; W]; H]; C], C, H, W);
