//! The [`Layer`] and [`Module`] traits, and the built-in layers, one file each.

mod activation;
mod attention;
mod batch_norm;
mod batch_norm1d;
mod batch_norm2d;
mod chain;
mod concat;
mod conv2d;
mod dispatch;
mod dropout;
mod elementwise;
mod embedding;
mod flatten;
mod gelu;
mod identity;
#[doc(hidden)]
pub mod init;
mod layer_norm;
mod leaky_relu;
mod linear;
#[doc(hidden)]
pub mod param;
mod pool;
mod position_embedding;
mod residual;
mod silu;
mod softmax;
mod table;

pub use activation::{ReLU, Sigmoid, Tanh};
pub use attention::{AttentionCache, CausalSelfAttention};
pub use batch_norm::BatchNormCache;
pub use batch_norm1d::BatchNorm1d;
pub use batch_norm2d::BatchNorm2d;
pub use chain::{Follows, Meets, NetworkInput};
pub use concat::Concat;
pub use conv2d::Conv2d;
#[doc(hidden)]
pub use dispatch::{ForwardDispatch, ForwardDoesNotFit, ForwardFits};
pub use dropout::{Dropout, DropoutCache};
pub use elementwise::{elementwise_backward_batch, elementwise_forward, elementwise_forward_batch, Elementwise};
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use gelu::GELU;
pub use identity::Identity;
pub use layer_norm::LayerNorm;
pub use leaky_relu::LeakyReLU;
pub use linear::{FusedRelu, Linear};
pub use pool::{AvgPool2d, MaxPool2d};
pub use position_embedding::PositionEmbedding;
pub use residual::Residual;
pub use silu::SiLU;
pub use softmax::{LogSoftmax, Softmax};

use crate::{Input, Rng, Tensor};

/// Whether a batched forward pass is part of training or of evaluation.
///
/// [`Dropout`] zeroes values while training and passes them through in evaluation;
/// [`BatchNorm1d`] and [`BatchNorm2d`] normalise with the batch's statistics while training and
/// with their running statistics in evaluation; the other built-in layers behave the same in both.
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
/// let layer = Linear::<3, 2>::init_with(&mut nn::Rng::seed(0));
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
    fn init_with(rng: &mut Rng) -> Self;
    /// Every parameter zero: the starting point of a gradient.
    fn zeros() -> Self;
    /// Calls `visit(key, shape, values)` for every f32 tensor of the `state_dict`, keys prefixed
    /// with `prefix`, in PyTorch's `state_dict` order: the trainable parameters and the f32
    /// buffers (a batch norm's `running_mean` and `running_var`), which are saved and loaded alike.
    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32]));
    /// As [`Module::visit_params`], with mutable values (loading weights).
    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32]));
    /// Calls `update(parameter, gradient)` for every trainable parameter tensor with the
    /// matching tensor of `grads`, in [`Module::visit_params`] order, without building key
    /// strings (optimizer steps). Buffers (running statistics) and tensors of frozen layers are
    /// skipped: this is PyTorch's `parameters()`, not its `state_dict()`.
    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32]));

    /// Calls `visit(key, value)` for every integer scalar of the `state_dict` (a batch norm's
    /// `num_batches_tracked`), which safetensors files store as 0-dimensional I64 tensors, as
    /// PyTorch does. Modules without counters keep this default; a network passes it to each
    /// layer with the layer's key prefix, as [`Module::visit_params`].
    ///
    /// ```
    /// use nn::prelude::*;
    /// let norm = BatchNorm1d::<3>::init_with(&mut nn::Rng::seed(0));
    /// let mut counters = Vec::new();
    /// norm.visit_counters("bn.", &mut |key, value| counters.push(format!("{key} = {value}")));
    /// assert_eq!(counters, ["bn.num_batches_tracked = 0"]);
    /// ```
    fn visit_counters(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, i64)) {}

    /// As [`Module::visit_counters`], with mutable values (loading a checkpoint).
    ///
    /// ```
    /// use nn::prelude::*;
    /// let mut norm = BatchNorm1d::<3>::init_with(&mut nn::Rng::seed(0));
    /// norm.visit_counters_mut("", &mut |_key, value| *value = 7);
    /// assert_eq!(norm.num_batches_tracked, 7);
    /// ```
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
/// let layer = Linear::<2, 1>::init_with(&mut nn::Rng::seed(0));
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
pub trait Layer<I: Input>: Module {
    /// The per-sample output tensor.
    type Output: Tensor;
    /// What a batched forward pass keeps for the backward pass (intermediate activations of a
    /// network; `()` for simple layers). Buffers grow on first use and are reused after.
    type Cache: Default + Send;

    /// One sample, no heap allocation.
    fn forward(&self, input: &I) -> Self::Output;

    /// A batch: `output[b]` is the output for `input[b]`. Both slices have the same length.
    ///
    /// The default calls [`Layer::forward`] on each sample, which suits a layer that behaves the
    /// same in training and evaluation and keeps nothing for its backward pass.
    fn forward_batch(&self, input: &[I], output: &mut [Self::Output], _cache: &mut Self::Cache, _mode: Mode) {
        for (out, x) in output.iter_mut().zip(input) {
            *out = self.forward(x);
        }
    }

    /// Applies what the last [`Layer::forward_batch`] learned about the data to the layer's
    /// state: a batch norm's running mean and variance. The trainer calls it once after each
    /// training-mode forward pass (before the backward pass), with the same cache; after an
    /// evaluation-mode pass it must do nothing. Layers without running statistics keep this
    /// default; a network passes it to each layer with the layer's cache.
    ///
    /// ```
    /// use nn::prelude::*;
    /// use nn::Mode;
    /// let mut norm = BatchNorm1d::<1>::init_with(&mut nn::Rng::seed(0));
    /// let mut cache = Default::default();
    /// let mut output = [[0.0]; 2];
    /// norm.forward_batch(&[[1.0], [3.0]], &mut output, &mut cache, Mode::Train);
    /// norm.update_statistics(&cache);
    /// // PyTorch's momentum 0.1: 0.9 * 0 + 0.1 * 2, and the unbiased variance 2 of [1, 3].
    /// assert!((norm.running_mean[0] - 0.2).abs() < 1e-6);
    /// assert!((norm.running_var[0] - (0.9 + 0.1 * 2.0)).abs() < 1e-6);
    /// assert_eq!(norm.num_batches_tracked, 1);
    /// ```
    fn update_statistics(&mut self, _cache: &Self::Cache) {}

    /// An error if `input` (sample `sample` of a dataset) can never be valid for this layer: a
    /// token id outside an [`Embedding`]'s vocabulary. The trainer, [`evaluate`](crate::evaluate)
    /// and [`Predict`](crate::Predict) check every sample before any work, so that
    /// [`Layer::forward`] needs no checks; a network passes it to its first layer. Layers that
    /// take any value of `I` keep this default.
    ///
    /// ```
    /// use nn::prelude::*;
    /// let embedding = Embedding::<4, 2>::init_with(&mut nn::Rng::seed(0));
    /// assert!(embedding.check_input(&[0, 3], 0).is_ok());
    /// let error = embedding.check_input(&[1, 4], 7).unwrap_err();
    /// assert_eq!(error.to_string(), "sample 7: token id 4 at position 1 is outside the vocabulary of 4 tokens (0..=3)");
    /// ```
    fn check_input(&self, _input: &I, _sample: usize) -> crate::Result<()> {
        Ok(())
    }

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
}

/// Implements [`Module`] for a layer without parameters.
macro_rules! parameterless_module {
    ($layer:ty $(, const $param:ident)*) => {
        impl<$(const $param: usize),*> $crate::layer::Module for $layer {
            const NUM_PARAMS: usize = 0;
            fn init_with(_rng: &mut $crate::Rng) -> Self {
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
