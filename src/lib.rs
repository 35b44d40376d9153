//! # nn: neural networks whose shapes the Rust compiler checks
//!
//! Declare a network in one line; a wrong size is a compile error at the wrong number.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     /// The classic MNIST classifier.
//!     pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
//! }
//!
//! let net = MnistMlp::init(42);
//! assert_eq!(MnistMlp::NUM_PARAMS, 109_386);
//! let logits: [f32; 10] = net.forward(&[[0.0; 28]; 28]);
//! assert_eq!(logits.len(), 10);
//! ```
//!
//! Everything of `nn-runtime` is re-exported here: layers ([`Linear`], [`ReLU`], ...), losses
//! ([`loss`]), optimizers ([`optim`]), datasets ([`data`]), the [`Trainer`], and safetensors
//! I/O ([`io`]).

pub use nn_macros::{network, Module};
pub use nn_runtime::*;

/// `use nn::prelude::*;` brings the macro, the layers, the losses and the traits into scope.
pub mod prelude {
    // The derive and the trait share the name `Module`, in the macro and type namespaces.
    pub use nn_macros::{network, Module};
    pub use nn_runtime::data::Dataset;
    pub use nn_runtime::elementwise_layer;
    pub use nn_runtime::loss::{BceWithLogits, CrossEntropy, Loss, Mse};
    pub use nn_runtime::optim::{Adam, AdamW, Optimizer, Schedule, Sgd};
    pub use nn_runtime::{
        AvgPool2d, BatchNorm1d, BatchNorm2d, Concat, Conv2d, Dropout, Elementwise, Flatten, Identity, Layer, LayerNorm,
        LeakyReLU, Linear, LogSoftmax, MaxPool2d, Module, ReLU, Residual, SiLU, Sigmoid, Softmax, Tanh, Tensor, GELU,
    };
}

/// Items used by code that `network!` and `#[derive(Module)]` generate. Not a public API: it may
/// change in any release.
#[doc(hidden)]
pub mod __private {
    pub use nn_runtime::io;
    pub use nn_runtime::layer::init;
    pub use nn_runtime::layer::param::ParamTensor;
    pub use nn_runtime::layer::{
        Follows, ForwardDispatch, ForwardDoesNotFit, ForwardFits, FusedRelu, Meets, NetworkInput,
    };
    pub use nn_runtime::summary::{format_summary, SummaryRow};
    pub use nn_runtime::{
        flatten_batch, prefix_mut, AvgPool2d, BatchNorm1d, BatchNorm2d, Concat, Conv2d, Dropout, Error, Flatten,
        Identity, Layer, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, Mode, Module, ReLU, Residual, Result,
        Rng, SiLU, Sigmoid, Softmax, Tanh, Tensor, GELU,
    };
    pub use std::{boxed::Box, default::Default, option::Option, path::Path, string::String, vec::Vec};
}
