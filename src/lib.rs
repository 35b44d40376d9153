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
//! # What is here
//!
//! - Layers: [`Linear`], [`Conv2d`], [`ReLU`], [`BatchNorm2d`], [`Residual`], ... and the
//!   traits a layer implements: [`Module`] (parameters, `#[derive(Module)]`), [`Layer`] (forward
//!   and backward for one input type) and [`Elementwise`] (with [`elementwise_layer!`]);
//!   [`Predict`] runs any of them on a batch or a dataset.
//! - Training: [`loss`], [`optim`], [`data`] (datasets, MNIST, CSV), the [`Trainer`],
//!   [`evaluate`], [`metrics`], and [`train`] for a hand-written loop.
//! - Files: [`io`] saves and loads weights as safetensors with PyTorch's `state_dict` keys.
//! - Threads: [`set_num_threads`], [`num_threads`], [`max_threads`].
//!
//! The whole public API is listed in `docs/public-api.txt`, which a test keeps in step with
//! this file.
//!
//! # Features
//!
//! - `bundled-mnist` (default): [`data::Mnist::bundled`], 10,000 training and 10,000 test MNIST
//!   digits embedded in the binary (3.2 MB, from the `nn-mnist-data` crate). Without it,
//!   [`data::Mnist::from_dir`] reads the same files, or the full set, from a folder.
//! - `plot` (default): [`TrainReport::plot`] draws the loss and accuracy curves as PNG or SVG
//!   (the `nn-plot` crate: pure Rust, bundled font, no system libraries).
//! - `serde`: `Serialize` and `Deserialize` for the training history ([`TrainReport`],
//!   [`train::EpochReport`]) and configuration ([`train::TrainConfig`], [`train::Monitor`]), to
//!   keep a run's record beside its weights. Without it, [`TrainReport::save_json`] and
//!   [`TrainReport::save_csv`] still write the history.
//!
//! ```toml
//! [dependencies]
//! nn = { version = "0.1", default-features = false } # neither the digits nor the plots
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

// The public API: every item below is listed in docs/public-api.txt (tests/public_api.rs).
pub use nn_macros::{network, Module};
pub use nn_runtime::elementwise_layer;
pub use nn_runtime::{data, loss, metrics, optim, train};
pub use nn_runtime::{evaluate, Evaluation, TrainReport, Trainer};
pub use nn_runtime::{max_threads, num_threads, set_num_threads};
pub use nn_runtime::{
    AlignedBox, Elementwise, Error, Floats, Input, Layer, Mode, Module, Predict, Result, Rng, Sampler, Tensor,
};
pub use nn_runtime::{
    AvgPool2d, BatchNorm1d, BatchNorm2d, CausalSelfAttention, Concat, Conv2d, Dropout, Embedding, Flatten, Identity,
    LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, PositionEmbedding, ReLU, Residual, SiLU, Sigmoid, Softmax,
    Tanh, GELU,
};

pub mod io {
    //! Weights as safetensors files with PyTorch's `state_dict` key names: [`save`], [`load`],
    //! and [`LoadOptions`] for a file whose keys or contents differ from the network's:
    //! `LoadOptions::strict().sequential("linear_relu_stack", 1).load(path)` reads PyTorch's
    //! tutorial model, [`LoadOptions::partial`] loads what fits into a network and returns a
    //! [`LoadReport`].
    //!
    //! A network declared with `network!` has these as methods too: `net.save(path)`,
    //! `Net::load(path)`, `net.load_from(path, &options)` (the same as [`load_with`]).

    pub use nn_runtime::io::{load, load_into, load_with, save, unwritable_reason, LoadOptions, LoadReport};
}

/// `use nn::prelude::*;` brings the macro, the layers, the losses and the traits into scope.
pub mod prelude {
    // The derive and the trait share the name `Module`, in the macro and type namespaces.
    pub use nn_macros::{network, Module};
    pub use nn_runtime::data::Dataset;
    pub use nn_runtime::elementwise_layer;
    pub use nn_runtime::loss::{BceWithLogits, CrossEntropy, Loss, Mse};
    pub use nn_runtime::optim::{Adam, AdamW, Optimizer, Schedule, Sgd};
    pub use nn_runtime::Predict;
    pub use nn_runtime::{
        AvgPool2d, BatchNorm1d, BatchNorm2d, CausalSelfAttention, Concat, Conv2d, Dropout, Elementwise, Embedding,
        Flatten, Identity, Layer, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, Module, PositionEmbedding, ReLU,
        Residual, SiLU, Sigmoid, Softmax, Tanh, Tensor, GELU,
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
        flatten_batch, prefix_mut, AvgPool2d, BatchNorm1d, BatchNorm2d, Buffer, CausalSelfAttention, Concat, Conv2d,
        Dropout, Embedding, Error, Flatten, Identity, Input, Layer, LayerNorm, LeakyReLU, Linear, LogSoftmax,
        MaxPool2d, Mode, Module, PositionEmbedding, ReLU, Residual, Result, Rng, SiLU, Sigmoid, Softmax, Tanh, Tensor,
        GELU,
    };
    pub use std::{boxed::Box, default::Default, option::Option, path::Path, string::String, vec::Vec};
}
