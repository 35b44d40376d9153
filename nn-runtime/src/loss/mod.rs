//! Loss functions: each computes the mean loss of a batch and, fused with it, the gradient.

mod bce_with_logits;
mod cross_entropy;
mod mse;

pub use bce_with_logits::BceWithLogits;
pub use cross_entropy::{CrossEntropy, SmoothedCrossEntropy};
pub use mse::Mse;

use crate::Tensor;

/// A loss over a batch of network outputs `O` and their targets.
///
/// Losses average over the batch, as PyTorch's default `reduction='mean'` does.
pub trait Loss<O: Tensor> {
    /// What each sample is compared with: a class index or a tensor.
    type Target: Copy + Send + Sync + 'static;

    /// The mean loss of the batch, and `dLoss/dOutput` written into `grad` (same length as `outputs`).
    fn loss_and_grad(&self, outputs: &[O], targets: &[Self::Target], grad: &mut [O]) -> f32;

    /// The mean loss of the batch, without the gradient.
    fn loss(&self, outputs: &[O], targets: &[Self::Target]) -> f32;

    /// Whether `output` predicts `target` correctly, for losses where that has a meaning
    /// (classification); `None` otherwise.
    fn is_correct(&self, _output: &O, _target: &Self::Target) -> Option<bool> {
        None
    }

    /// An error if `target` (of sample `index`) can never be valid for this output, checked
    /// before training so that the loss itself needs no checks.
    fn check_target(&self, _target: &Self::Target, _index: usize) -> crate::Result<()> {
        Ok(())
    }
}
