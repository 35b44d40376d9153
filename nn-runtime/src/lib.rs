//! The runtime of `nn`: layers, kernels, losses, optimizers, data, training and safetensors I/O.
//!
//! Use it through the `nn` crate, whose `network!` macro generates networks built from these
//! pieces; everything here is re-exported there.

mod aligned;
pub mod data;
mod error;
pub mod io;
pub mod kernel;
pub mod layer;
pub mod loss;
pub mod metrics;
pub mod optim;
mod predict;
mod prefetch;
mod rng;
mod sample;
mod special;
pub mod summary;
mod tensor;
mod threads;
pub mod train;
mod widest;

pub use aligned::{AlignedBox, Buffer, Floats};
pub use error::{Error, Result};
pub use layer::{
    AvgPool2d, BatchNorm1d, BatchNorm2d, CausalSelfAttention, Concat, Conv2d, Dropout, Elementwise, Embedding, Flatten,
    Identity, Layer, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, Mode, Module, PositionEmbedding, ReLU,
    Residual, SiLU, Sigmoid, Softmax, Tanh, GELU,
};
pub use predict::Predict;
pub use rng::Rng;
pub use sample::Sampler;
pub use tensor::{flatten_batch, prefix_mut, shape_to_string, Input, Tensor};
pub use threads::{max_threads, num_threads, set_num_threads};
pub use train::{evaluate, Evaluation, TrainReport, Trainer};
