//! `LeakyReLU`: `x` for positive `x`, `slope * x` otherwise, as `torch.nn.LeakyReLU(slope)`.

use super::Elementwise;

/// PyTorch's `nn.LeakyReLU(negative_slope)`: `x` where `x > 0`, `slope * x` elsewhere (the
/// derivative at 0 is `slope`, as PyTorch's). The default slope is PyTorch's, 0.01.
///
/// ```
/// use nn::prelude::*;
/// assert_eq!(LeakyReLU::new(0.5).forward(&[-2.0, 3.0]), [-1.0, 3.0]);
/// assert_eq!(LeakyReLU::default().slope(), 0.01);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyReLU {
    slope: f32,
}

impl LeakyReLU {
    /// A leaky ReLU multiplying negative values by `slope`.
    pub fn new(slope: f32) -> Self {
        LeakyReLU { slope }
    }

    /// The factor applied to negative values.
    ///
    /// ```
    /// assert_eq!(nn::LeakyReLU::new(0.2).slope(), 0.2);
    /// ```
    pub fn slope(&self) -> f32 {
        self.slope
    }
}

/// PyTorch's default `negative_slope`, 0.01.
impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU::new(0.01)
    }
}

impl Elementwise for LeakyReLU {
    fn apply(&self, x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            self.slope * x
        }
    }

    fn derivative(&self, x: f32, _y: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else {
            self.slope
        }
    }
}

crate::elementwise_layer!(LeakyReLU);
