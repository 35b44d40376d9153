//! The [`Layer`] and [`Module`] traits, and the built-in layers, one file each.

mod activation;
mod chain;
mod concat;
mod conv2d;
mod dropout;
mod flatten;
mod identity;
mod linear;
mod pool;
mod residual;

pub use activation::{ReLU, Sigmoid, Tanh};
pub use chain::{Follows, NetworkInput};
pub use concat::Concat;
pub use conv2d::Conv2d;
pub use dropout::{Dropout, DropoutCache};
pub use flatten::Flatten;
pub use identity::Identity;
pub use linear::{FusedRelu, Linear};
pub use pool::{AvgPool2d, MaxPool2d};
pub use residual::Residual;

use crate::{Rng, Tensor};

/// Whether a batched forward pass is part of training or of evaluation.
///
/// [`Dropout`] zeroes values while training and passes them through in evaluation; the other
/// built-in layers behave the same in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training: the pass will be followed by a backward pass.
    Train,
    /// Evaluation or inference.
    Eval,
}

/// What every layer and network has regardless of its input: parameters and their names.
///
/// Modules are `Clone` so that a trainer can keep a copy of the best weights.
///
/// Gradients are model-shaped: the gradient of a `Linear<784, 128>` is another
/// `Linear<784, 128>` (made by [`Module::zeros`]) whose weight holds `dLoss/dWeight`.
///
/// ```
/// use nn::prelude::*;
/// let layer = Linear::<3, 2>::init(&mut nn::Rng::seed(0));
/// let mut keys = Vec::new();
/// layer.visit_params("fc.", &mut |key, shape, _values| keys.push(format!("{key} {shape:?}")));
/// assert_eq!(keys, ["fc.weight [2, 3]", "fc.bias [2]"]);
/// assert_eq!(Linear::<3, 2>::NUM_PARAMS, 8);
/// ```
// The visitor callbacks are spelled out rather than aliased: an alias would carry its own
// `dyn` lifetime, and an implementor writing the natural `&mut dyn FnMut(..)` would then not
// match the trait's signature.
#[allow(clippy::type_complexity)]
pub trait Module: Clone + Send + Sync + 'static {
    /// Number of trainable parameters (f32 values).
    const NUM_PARAMS: usize;
    /// PyTorch's default initialisation, drawn from `rng`.
    fn init(rng: &mut Rng) -> Self;
    /// Every parameter zero: the starting point of a gradient.
    fn zeros() -> Self;
    /// Calls `visit(key, shape, values)` for every parameter tensor, keys prefixed with `prefix`,
    /// in PyTorch's `state_dict` order.
    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32]));
    /// As [`Module::visit_params`], with mutable values (loading weights).
    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32]));
    /// Calls `update(parameter, gradient)` for every trainable parameter tensor with the
    /// matching tensor of `grads`, in [`Module::visit_params`] order, without building key
    /// strings (optimizer steps). Tensors of frozen layers are skipped.
    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32]));

    /// Calls `visit(key, value)` for every integer counter of the state dict (PyTorch's I64
    /// `num_batches_tracked` of a batch norm), keys prefixed with `prefix`. Most layers have none.
    fn visit_counters(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, i64)) {}

    /// As [`Module::visit_counters`], with mutable values (loading).
    fn visit_counters_mut(&mut self, _prefix: &str, _visit: &mut dyn FnMut(&str, &mut i64)) {}

    /// Freezes (`true`) or unfreezes every parameter of this module: a frozen layer computes no
    /// parameter gradient and optimizers do not update it (fine-tuning a new head on a trained
    /// body). Layers without parameters ignore it; networks pass it to every layer.
    fn set_frozen(&mut self, _frozen: bool) {}
}

/// A layer that takes a per-sample tensor `I` to [`Layer::Output`], one sample or a batch at a time.
///
/// The input is a trait parameter so that one activation type serves every shape, and so that a
/// layer placed after an incompatible one is reported as "`Linear<100, 64>` cannot take
/// `[f32; 128]` as its input".
///
/// ```
/// use nn::prelude::*;
/// let layer = Linear::<2, 1>::init(&mut nn::Rng::seed(0));
/// let y = layer.forward(&[1.0, 2.0]);
/// let expected = layer.bias[0] + layer.weight[0][0] + 2.0 * layer.weight[0][1];
/// assert!((y[0] - expected).abs() < 1e-6);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take `{I}` as its input",
    label = "this layer does not accept `{I}`, the output of the layer before it",
    note = "each layer's input must be exactly the previous layer's output; check the sizes in the chain",
    note = "a layer of your own implements `nn::Layer<{I}>` and `nn::Module` (which needs `Clone`)"
)]
pub trait Layer<I: Tensor>: Module {
    /// The per-sample output tensor.
    type Output: Tensor;
    /// What a batched forward pass keeps for the backward pass (intermediate activations of a
    /// network; `()` for simple layers). Buffers grow on first use and are reused after.
    type Cache: Default + Send;

    /// One sample, no heap allocation.
    fn forward(&self, input: &I) -> Self::Output;

    /// A batch: `output[b]` is the output for `input[b]`. Both slices have the same length.
    fn forward_batch(&self, input: &[I], output: &mut [Self::Output], cache: &mut Self::Cache, mode: Mode);

    /// The backward pass of the last [`Layer::forward_batch`] (same `input`, `output`, `cache`):
    /// writes `dLoss/dParameters` into `grads` (overwriting) and, when asked, `dLoss/dInput`
    /// into `grad_input`.
    fn backward_batch(
        &self,
        input: &[I],
        output: &[Self::Output],
        grad_output: &[Self::Output],
        grad_input: Option<&mut [I]>,
        cache: &mut Self::Cache,
        grads: &mut Self,
    );

    /// Applies what the last [`Layer::forward_batch`] in [`Mode::Train`] measured to the
    /// layer's state (a batch norm's running statistics); called once after each training
    /// forward pass. A no-op for most layers, and after an evaluation pass.
    fn update_statistics(&mut self, _cache: &Self::Cache) {}
}

/// Implements [`Module`] for a layer without parameters.
macro_rules! parameterless_module {
    ($layer:ty $(, const $param:ident)*) => {
        impl<$(const $param: usize),*> $crate::layer::Module for $layer {
            const NUM_PARAMS: usize = 0;
            fn init(_rng: &mut $crate::Rng) -> Self {
                Self::default()
            }
            fn zeros() -> Self {
                Self::default()
            }
            fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}
            fn visit_params_mut(
                &mut self,
                _prefix: &str,
                _visit: &mut dyn FnMut(&str, &[usize], &mut [f32]),
            ) {
            }
            fn zip_params(&mut self, _grads: &Self, _update: &mut dyn FnMut(&mut [f32], &[f32])) {}
        }
    };
}
pub(crate) use parameterless_module;
