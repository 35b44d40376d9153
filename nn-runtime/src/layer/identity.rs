//! `Identity`: passes its input through, as `torch.nn.Identity()`.

use super::Elementwise;

/// Returns its input unchanged, PyTorch's `nn.Identity()`: a placeholder where a layer is
/// optional (a residual branch without projection, a removed head).
///
/// ```
/// use nn::prelude::*;
/// assert_eq!(Identity.forward(&[[1.0, -2.0]]), [[1.0, -2.0]]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity;

impl Elementwise for Identity {
    fn apply(&self, x: f32) -> f32 {
        x
    }

    fn derivative(&self, _x: f32, _y: f32) -> f32 {
        1.0
    }
}

crate::elementwise_layer!(Identity);
