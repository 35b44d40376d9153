//! `SiLU`: `x * sigmoid(x)`, as `torch.nn.SiLU()`.

use super::Elementwise;

/// The sigmoid-weighted linear unit (also called swish), PyTorch's `nn.SiLU()`:
/// `x * sigmoid(x)`.
///
/// ```
/// use nn::prelude::*;
/// let y = SiLU.forward(&[0.0, 1.0]);
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-7);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiLU;

impl Elementwise for SiLU {
    fn apply(&self, x: f32) -> f32 {
        x / (1.0 + (-x).exp())
    }

    /// `sigmoid(x) * (1 + x * (1 - sigmoid(x)))`, PyTorch's `silu_backward`.
    fn derivative(&self, x: f32, _y: f32) -> f32 {
        let sigmoid = 1.0 / (1.0 + (-x).exp());
        sigmoid * (1.0 + x * (1.0 - sigmoid))
    }
}

crate::elementwise_layer!(SiLU);
