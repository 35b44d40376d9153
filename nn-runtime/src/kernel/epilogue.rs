//! What a product does to each value as it stores it: the ReLU that follows a Linear layer in a
//! network is applied by the forward kernel, and the ReLU's mask by the input gradient of the
//! Linear layer after it, in the same registers (a ReLU layer of its own was one more pass over
//! the activations, and on one thread).
//!
//! Both use exactly the `ReLU` layer's arithmetic, so fused and separate give the same bits.

/// What a forward does to each output after adding the bias.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Activation {
    /// Nothing.
    Identity,
    /// PyTorch's ReLU: `max(0, y)`, NaN kept.
    Relu,
}

impl Activation {
    /// The activation of one value.
    #[inline(always)]
    pub(crate) fn apply(self, value: f32) -> f32 {
        match self {
            Activation::Identity => value,
            Activation::Relu => relu(value),
        }
    }
}

/// `ReLU`'s forward, as the layer computes it (`-0.0` and NaN pass through).
#[inline(always)]
pub(crate) fn relu(value: f32) -> f32 {
    if value < 0.0 {
        0.0
    } else {
        value
    }
}

/// `ReLU`'s backward given the ReLU's output `y` (the next layer's input): the gradient times
/// 1 or 0, as the layer computes it (so a NaN or infinite gradient times 0 stays NaN).
#[inline(always)]
pub(crate) fn relu_gradient(gradient: f32, y: f32) -> f32 {
    gradient * if y > 0.0 { 1.0 } else { 0.0 }
}
