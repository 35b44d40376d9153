//! Element-wise activations: `ReLU`, `Sigmoid`, `Tanh`, for tensors of any shape.
//!
//! Each derivative is computed from the layer's output, so the backward pass needs no cache.

use super::{parameterless_module, Layer, Mode};
use crate::Tensor;

/// Defines an activation layer from its function and its derivative expressed through the output.
macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $forward:expr, |$y:ident| $derivative:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        parameterless_module!($name);

        impl<T: Tensor> Layer<T> for $name {
            type Output = T;
            type Cache = ();

            fn forward(&self, input: &T) -> T {
                let mut output = *input;
                output.flat_mut().iter_mut().for_each(|value| {
                    let $x = *value;
                    *value = $forward;
                });
                output
            }

            fn forward_batch(&self, input: &[T], output: &mut [T], _cache: &mut (), _mode: Mode) {
                let outputs = T::flat_batch_mut(output).iter_mut();
                for (out, &$x) in outputs.zip(T::flat_batch(input)) {
                    *out = $forward;
                }
            }

            fn backward_batch(
                &self,
                _input: &[T],
                output: &[T],
                grad_output: &[T],
                grad_input: Option<&mut [T]>,
                _cache: &mut (),
                _grads: &mut Self,
            ) {
                let Some(grad_input) = grad_input else { return };
                let grads_in = T::flat_batch_mut(grad_input).iter_mut();
                let outputs_and_grads = T::flat_batch(output).iter().zip(T::flat_batch(grad_output));
                for (grad_in, (&$y, &grad_out)) in grads_in.zip(outputs_and_grads) {
                    *grad_in = grad_out * $derivative;
                }
            }
        }
    };
}

activation!(
    /// `max(0, x)`, PyTorch's `nn.ReLU()`: NaN stays NaN (as in PyTorch) and the derivative at 0 is 0.
    ///
    /// ```
    /// use nn::prelude::*;
    /// assert_eq!(ReLU.forward(&[-1.0, 0.0, 2.0]), [0.0, 0.0, 2.0]);
    /// ```
    ReLU,
    |x| if x < 0.0 { 0.0 } else { x },
    |y| if y > 0.0 { 1.0 } else { 0.0 }
);

activation!(
    /// `1 / (1 + e^-x)`, PyTorch's `nn.Sigmoid()`.
    ///
    /// ```
    /// use nn::prelude::*;
    /// assert_eq!(Sigmoid.forward(&[0.0]), [0.5]);
    /// ```
    Sigmoid,
    |x| 1.0 / (1.0 + (-x).exp()),
    |y| y * (1.0 - y)
);

activation!(
    /// The hyperbolic tangent, PyTorch's `nn.Tanh()`.
    ///
    /// ```
    /// use nn::prelude::*;
    /// assert_eq!(Tanh.forward(&[0.0]), [0.0]);
    /// ```
    Tanh,
    |x| x.tanh(),
    |y| 1.0 - y * y
);
