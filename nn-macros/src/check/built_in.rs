//! The layers whose shapes the macro knows, as a typed list: every other file matches on this
//! enum, never on a layer's name as a string.

use crate::ast::LayerDecl;

/// A built-in layer of `nn`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(clippy::upper_case_acronyms)] // PyTorch's names, as users write them
pub enum BuiltIn {
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
    GELU,
    SiLU,
    LeakyReLU,
    Softmax,
    LogSoftmax,
    Identity,
    Flatten,
    Dropout,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    LayerNorm,
    Embedding,
    PositionEmbedding,
    CausalSelfAttention,
}

impl BuiltIn {
    pub const ALL: [BuiltIn; 21] = [
        BuiltIn::Linear,
        BuiltIn::ReLU,
        BuiltIn::Sigmoid,
        BuiltIn::Tanh,
        BuiltIn::GELU,
        BuiltIn::SiLU,
        BuiltIn::LeakyReLU,
        BuiltIn::Softmax,
        BuiltIn::LogSoftmax,
        BuiltIn::Identity,
        BuiltIn::Flatten,
        BuiltIn::Dropout,
        BuiltIn::Conv2d,
        BuiltIn::MaxPool2d,
        BuiltIn::AvgPool2d,
        BuiltIn::BatchNorm1d,
        BuiltIn::BatchNorm2d,
        BuiltIn::LayerNorm,
        BuiltIn::Embedding,
        BuiltIn::PositionEmbedding,
        BuiltIn::CausalSelfAttention,
    ];

    /// The name users write.
    pub fn name(self) -> &'static str {
        match self {
            BuiltIn::Linear => "Linear",
            BuiltIn::ReLU => "ReLU",
            BuiltIn::Sigmoid => "Sigmoid",
            BuiltIn::Tanh => "Tanh",
            BuiltIn::GELU => "GELU",
            BuiltIn::SiLU => "SiLU",
            BuiltIn::LeakyReLU => "LeakyReLU",
            BuiltIn::Softmax => "Softmax",
            BuiltIn::LogSoftmax => "LogSoftmax",
            BuiltIn::Identity => "Identity",
            BuiltIn::Flatten => "Flatten",
            BuiltIn::Dropout => "Dropout",
            BuiltIn::Conv2d => "Conv2d",
            BuiltIn::MaxPool2d => "MaxPool2d",
            BuiltIn::AvgPool2d => "AvgPool2d",
            BuiltIn::BatchNorm1d => "BatchNorm1d",
            BuiltIn::BatchNorm2d => "BatchNorm2d",
            BuiltIn::LayerNorm => "LayerNorm",
            BuiltIn::Embedding => "Embedding",
            BuiltIn::PositionEmbedding => "PositionEmbedding",
            BuiltIn::CausalSelfAttention => "CausalSelfAttention",
        }
    }

    /// The built-in layer `layer` is, if it is one (a path of one segment with its name).
    pub fn of(layer: &LayerDecl) -> Option<BuiltIn> {
        if layer.path.segments.len() != 1 {
            return None;
        }
        let name = layer.ident().to_string();
        BuiltIn::ALL.into_iter().find(|known| known.name() == name)
    }

    /// Layers whose output has the shape of their input and which take no sizes.
    pub fn keeps_shape(self) -> bool {
        matches!(
            self,
            BuiltIn::ReLU
                | BuiltIn::Sigmoid
                | BuiltIn::Tanh
                | BuiltIn::GELU
                | BuiltIn::SiLU
                | BuiltIn::LeakyReLU
                | BuiltIn::Softmax
                | BuiltIn::LogSoftmax
                | BuiltIn::Identity
                | BuiltIn::Dropout
        )
    }

    /// Layers whose parentheses hold named options (`stride = 2`) read by their shape check.
    pub fn has_options(self) -> bool {
        matches!(self, BuiltIn::Conv2d | BuiltIn::MaxPool2d | BuiltIn::AvgPool2d)
    }
}
