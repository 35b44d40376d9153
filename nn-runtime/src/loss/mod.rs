//! Loss functions: each computes the mean loss of a batch and, fused with it, the gradient.

mod bce_with_logits;
mod cross_entropy;
mod ignore_index;
mod mse;
mod sequence;

pub use bce_with_logits::BceWithLogits;
pub use cross_entropy::{CrossEntropy, SmoothedCrossEntropy};
pub use ignore_index::IgnoreIndexCrossEntropy;
pub use mse::Mse;

use crate::Tensor;

/// A loss over a batch of network outputs `O` and their targets.
///
/// Losses average over the batch, as PyTorch's default `reduction='mean'` does: over its
/// samples, over every element ([`Mse`]), or over the positions of its sequences that count
/// ([`IgnoreIndexCrossEntropy`]); [`Loss::counted`] says how many terms that is.
pub trait Loss<O: Tensor> {
    /// What each sample is compared with: a class index or a tensor.
    type Target: Copy + Send + Sync + 'static;

    /// The mean loss of the batch, and `dLoss/dOutput` written into `grad` (same length as `outputs`).
    fn loss_and_grad(&self, outputs: &[O], targets: &[Self::Target], grad: &mut [O]) -> f32;

    /// The mean loss of the batch, without the gradient.
    fn loss(&self, outputs: &[O], targets: &[Self::Target]) -> f32;

    /// How many terms the mean of a batch with these `targets` is over, or any number
    /// proportional to it: the weight of the batch's mean in a mean over many batches, which
    /// is then PyTorch's mean over the whole set (`sum(batch_mean * counted) / sum(counted)`).
    /// The default, one per sample, suits every loss whose terms are the same in number for
    /// every sample; [`IgnoreIndexCrossEntropy`] counts the positions not ignored (and may
    /// count 0, for a batch whose mean is then 0).
    ///
    /// ```
    /// use nn::loss::{CrossEntropy, Loss};
    /// assert_eq!(Loss::<[f32; 3]>::counted(&CrossEntropy, &[0, 2]), 2);
    /// assert_eq!(Loss::<[[f32; 3]; 2]>::counted(&CrossEntropy, &[[0, 2]]), 2);
    /// let padded = CrossEntropy.ignore_index(usize::MAX);
    /// assert_eq!(Loss::<[[f32; 3]; 2]>::counted(&padded, &[[0, usize::MAX], [1, 1]]), 3);
    /// ```
    fn counted(&self, targets: &[Self::Target]) -> usize {
        targets.len()
    }

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
