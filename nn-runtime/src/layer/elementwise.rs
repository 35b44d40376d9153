//! [`Elementwise`]: a parameter-free layer defined by a function of one value and its derivative,
//! made a [`Module`] and a [`Layer`] of every tensor shape by [`elementwise_layer!`](crate::elementwise_layer).
//!
//! Why a macro line rather than blanket `impl<E: Elementwise> Layer<T> for E`: coherence accepts
//! the blanket impls, but with them every shape mismatch in a network (`Linear<100, 10>` after a
//! layer giving 128 values) is reported by rustc as "the trait `Elementwise` is not implemented
//! for `Linear<100, 10>`", listing GELU, SiLU, ..., instead of the sentence naming the two layers
//! (the trybuild snapshots of `tests/ui/types/` show it). Impls for each named type, as the macro
//! writes them, leave those diagnostics as they are.

use crate::threads::split_rows;
use crate::Tensor;

/// A parameter-free layer applying one function to every value. Implement it, then invoke
/// [`elementwise_layer!`](crate::elementwise_layer) on the type: it becomes a [`crate::Layer`] for tensors of every shape and
/// a [`crate::Module`] without parameters.
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
/// nn::elementwise_layer!(Square);
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

    /// `output[i] = apply(input[i])` for a part of a batch. The default loops over
    /// [`Elementwise::apply`]; a layer whose `apply` branches on a setting (`GELU`'s tanh form)
    /// overrides it to branch once per slice, so the compiler can vectorise the loop. An
    /// override must give exactly `apply`'s values.
    fn apply_all(&self, input: &[f32], output: &mut [f32]) {
        for (out, &x) in output.iter_mut().zip(input) {
            *out = self.apply(x);
        }
    }

    /// `grad_input[i] = grad_output[i] * derivative(input[i], output[i])` for a part of a
    /// batch; overridden for the same reason as [`Elementwise::apply_all`].
    fn derivative_all(&self, input: &[f32], output: &[f32], grad_output: &[f32], grad_input: &mut [f32]) {
        let values = input.iter().zip(output);
        for ((grad_in, &grad_out), (&x, &y)) in grad_input.iter_mut().zip(grad_output).zip(values) {
            *grad_in = grad_out * self.derivative(x, y);
        }
    }
}

/// Implements [`crate::Module`] (no parameters; `init` and `zeros` give the `Default`) and
/// [`crate::Layer<T>`] for every tensor `T` for types implementing [`Elementwise`]:
/// `nn::elementwise_layer!(Square);` or several at once, `nn::elementwise_layer!(A, B);`.
/// Types with generic parameters implement the two traits by hand, calling
/// `nn_runtime::layer::elementwise_forward` and its siblings as this macro does.
///
/// ```
/// use nn::prelude::*;
/// #[derive(Debug, Clone, Copy, Default)]
/// struct Negate;
/// impl Elementwise for Negate {
///     fn apply(&self, x: f32) -> f32 { -x }
///     fn derivative(&self, _x: f32, _y: f32) -> f32 { -1.0 }
/// }
/// nn::elementwise_layer!(Negate);
/// assert_eq!(Negate.forward(&[[1.0, -2.0]]), [[-1.0, 2.0]]);
/// assert_eq!(Negate::NUM_PARAMS, 0);
/// ```
#[macro_export]
macro_rules! elementwise_layer {
    ($($layer:ty),+ $(,)?) => {$(
        impl $crate::Module for $layer {
            const NUM_PARAMS: usize = 0;
            fn init_with(_rng: &mut $crate::Rng) -> Self {
                <Self as ::core::default::Default>::default()
            }
            fn zeros() -> Self {
                <Self as ::core::default::Default>::default()
            }
            fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}
            fn visit_params_mut(&mut self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {}
            fn zip_params(&mut self, _grads: &Self, _update: &mut dyn FnMut(&mut [f32], &[f32])) {}
        }

        impl<T: $crate::Tensor> $crate::Layer<T> for $layer {
            type Output = T;
            type Cache = ();
            fn forward(&self, input: &T) -> T {
                $crate::layer::elementwise_forward(self, input)
            }
            fn forward_batch(&self, input: &[T], output: &mut [T], _cache: &mut (), _mode: $crate::Mode) {
                $crate::layer::elementwise_forward_batch(self, input, output)
            }
            fn backward_batch(
                &self,
                input: &[T],
                output: &[T],
                grad_output: &[T],
                grad_input: ::core::option::Option<&mut [T]>,
                _cache: &mut (),
                _grads: &mut Self,
            ) {
                $crate::layer::elementwise_backward_batch(self, input, output, grad_output, grad_input)
            }
        }
    )+};
}

/// [`crate::Layer::forward`] of an [`Elementwise`] layer (what [`elementwise_layer!`](crate::elementwise_layer) calls).
///
/// ```
/// assert_eq!(nn_runtime::layer::elementwise_forward(&nn::Identity, &[1.0, 2.0]), [1.0, 2.0]);
/// ```
pub fn elementwise_forward<E: Elementwise, T: Tensor>(layer: &E, input: &T) -> T {
    let mut output = *input;
    output
        .flat_mut()
        .iter_mut()
        .for_each(|value| *value = layer.apply(*value));
    output
}

/// [`crate::Layer::forward_batch`] of an [`Elementwise`] layer (what [`elementwise_layer!`](crate::elementwise_layer) calls).
///
/// ```
/// let mut output = [[0.0; 2]];
/// nn_runtime::layer::elementwise_forward_batch(&nn::LeakyReLU::new(0.5), &[[-2.0, 2.0]], &mut output);
/// assert_eq!(output, [[-1.0, 2.0]]);
/// ```
pub fn elementwise_forward_batch<E: Elementwise, T: Tensor>(layer: &E, input: &[T], output: &mut [T]) {
    let input = T::flat_batch(input);
    split_rows(
        T::flat_batch_mut(output),
        PARALLEL_ALIGN,
        1,
        PARALLEL_MIN_VALUES,
        |first, output| layer.apply_all(&input[first..first + output.len()], output),
    );
}

/// [`crate::Layer::backward_batch`] of an [`Elementwise`] layer (what [`elementwise_layer!`](crate::elementwise_layer)
/// calls): `grad_input = grad_output * derivative(input, output)`.
///
/// ```
/// let mut grad_input = [[0.0; 2]];
/// let relu = nn::LeakyReLU::new(0.5);
/// nn_runtime::layer::elementwise_backward_batch(&relu, &[[-2.0, 2.0]], &[[-1.0, 2.0]], &[[1.0, 1.0]], Some(&mut grad_input));
/// assert_eq!(grad_input, [[0.5, 1.0]]);
/// ```
pub fn elementwise_backward_batch<E: Elementwise, T: Tensor>(
    layer: &E,
    input: &[T],
    output: &[T],
    grad_output: &[T],
    grad_input: Option<&mut [T]>,
) {
    let Some(grad_input) = grad_input else { return };
    let (input, output, grad_output) = (T::flat_batch(input), T::flat_batch(output), T::flat_batch(grad_output));
    split_rows(
        T::flat_batch_mut(grad_input),
        PARALLEL_ALIGN,
        2,
        PARALLEL_MIN_VALUES,
        |first, grad_input| {
            let part = first..first + grad_input.len();
            layer.derivative_all(
                &input[part.clone()],
                &output[part.clone()],
                &grad_output[part],
                grad_input,
            );
        },
    );
}

/// Values below which an elementwise pass over a batch stays on one thread (as for pooling).
pub(crate) const PARALLEL_MIN_VALUES: usize = 32_768;

/// Parts of a batch pass start on multiples of this many values (a cache line).
pub(crate) const PARALLEL_ALIGN: usize = 16;
