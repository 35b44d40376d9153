//! [`Elementwise`]: a parameter-free layer defined by a function of one value and its derivative.
//!
//! A blanket implementation makes every `Elementwise` type a [`Module`] and a [`Layer`] of any
//! tensor, so a custom activation is a function and its derivative, nothing more.

use super::{Layer, Mode, Module};
use crate::{Rng, Tensor};

/// A parameter-free layer applying one function to every value: implement it, and the type is a
/// [`Layer`] for tensors of every shape (and a [`Module`] with no parameters).
///
/// The backward pass multiplies each output gradient by `derivative(x, y)`, given the input `x`
/// the forward pass saw and the output `y = apply(x)`: the network hands the layer its input
/// again, so nothing is copied into a cache.
///
/// ```
/// use nn::prelude::*;
///
/// /// `x^2`, a custom activation.
/// #[derive(Debug, Clone, Copy, Default)]
/// struct Square;
///
/// impl Elementwise for Square {
///     fn apply(&self, x: f32) -> f32 { x * x }
///     fn derivative(&self, x: f32, _y: f32) -> f32 { 2.0 * x }
/// }
///
/// assert_eq!(Square.forward(&[1.0, -3.0]), [1.0, 9.0]);
/// network! { struct Net: [2] => Linear<2, 2> -> Square -> Linear<2, 1> }
/// let _ = Net::init(0).forward(&[1.0, 2.0]);
/// ```
pub trait Elementwise: Clone + Default + Send + Sync + 'static {
    /// The function, applied to one value.
    fn apply(&self, x: f32) -> f32;
    /// `d output / d input` at the input `x`, whose output is `y = apply(x)` (use whichever is
    /// cheaper: a sigmoid's derivative is `y * (1 - y)`).
    fn derivative(&self, x: f32, y: f32) -> f32;
}

impl<E: Elementwise> Module for E {
    const NUM_PARAMS: usize = 0;

    /// The layer's `Default`: an element-wise layer has no parameters to draw.
    fn init(_rng: &mut Rng) -> Self {
        E::default()
    }

    fn zeros() -> Self {
        E::default()
    }

    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}

    fn visit_params_mut(&mut self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {}

    fn zip_params(&mut self, _grads: &Self, _update: &mut dyn FnMut(&mut [f32], &[f32])) {}
}

impl<E: Elementwise, T: Tensor> Layer<T> for E {
    type Output = T;
    type Cache = ();

    fn forward(&self, input: &T) -> T {
        let mut output = *input;
        output.flat_mut().iter_mut().for_each(|value| *value = self.apply(*value));
        output
    }

    fn forward_batch(&self, input: &[T], output: &mut [T], _cache: &mut (), _mode: Mode) {
        for (out, &x) in T::flat_batch_mut(output).iter_mut().zip(T::flat_batch(input)) {
            *out = self.apply(x);
        }
    }

    fn backward_batch(
        &self,
        input: &[T],
        output: &[T],
        grad_output: &[T],
        grad_input: Option<&mut [T]>,
        _cache: &mut (),
        _grads: &mut Self,
    ) {
        let Some(grad_input) = grad_input else { return };
        let values = T::flat_batch(input).iter().zip(T::flat_batch(output));
        let grads = T::flat_batch_mut(grad_input).iter_mut().zip(T::flat_batch(grad_output));
        for ((grad_in, &grad_out), (&x, &y)) in grads.zip(values) {
            *grad_in = grad_out * self.derivative(x, y);
        }
    }
}
