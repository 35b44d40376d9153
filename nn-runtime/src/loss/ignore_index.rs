//! `IgnoreIndexCrossEntropy`: sequence cross-entropy that leaves out the positions labelled
//! with one chosen index, as PyTorch's `F.cross_entropy(..., ignore_index=i)`.

use super::sequence::{check_labels, counted, sequence_loss, sequence_loss_and_grad};
use super::{CrossEntropy, Loss};

impl CrossEntropy {
    /// Cross-entropy over sequences that leaves out every position labelled `index`, PyTorch's
    /// `ignore_index=`: see [`IgnoreIndexCrossEntropy`]. Labels are `usize`, so PyTorch's usual
    /// `-1` (or its default `-100`) is written as an index no class has; `usize::MAX` reads best.
    ///
    /// ```
    /// use nn::loss::CrossEntropy;
    /// let loss = CrossEntropy.ignore_index(usize::MAX);
    /// assert_eq!(loss.ignore_index(), usize::MAX);
    /// ```
    pub fn ignore_index(self, index: usize) -> IgnoreIndexCrossEntropy {
        IgnoreIndexCrossEntropy::new(index)
    }
}

/// Cross-entropy of `[[f32; C]; T]` logits against `[usize; T]` labels in which positions
/// labelled with the ignore index contribute nothing: PyTorch's
/// `F.cross_entropy(logits.reshape(-1, C), y.reshape(-1), ignore_index=i)`. The loss is the mean
/// over the positions that count, across the whole batch (not a mean of per-sample means), and
/// the gradient of an ignored position is zero.
///
/// A batch in which every position is ignored has loss 0 and a zero gradient, so that training
/// steps over it harmlessly; PyTorch gives NaN there (0 / 0). [`Loss::counted`] says how many
/// positions a batch's mean is over, so that a mean over many batches weights each as PyTorch's
/// mean over the whole set does.
///
/// ```
/// use nn::loss::{CrossEntropy, Loss};
/// const PAD: usize = usize::MAX;
/// let loss = CrossEntropy.ignore_index(PAD);
/// // Position 0 counts (two equal logits: ln 2); position 1 is padding, whatever its logits.
/// let logits = [[[1.0f32, 1.0], [50.0, -50.0]]];
/// let targets = [[0, PAD]];
/// let mut grad = [[[0.0; 2]; 2]];
/// let value = loss.loss_and_grad(&logits, &targets, &mut grad);
/// assert!((value - std::f32::consts::LN_2).abs() < 1e-6);
/// assert_eq!(grad[0][1], [0.0, 0.0]);
/// assert_eq!(Loss::<[[f32; 2]; 2]>::counted(&loss, &targets), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoreIndexCrossEntropy {
    ignore_index: usize,
}

impl IgnoreIndexCrossEntropy {
    /// Ignores every position labelled `ignore_index`; the same as
    /// [`CrossEntropy::ignore_index`].
    ///
    /// ```
    /// let loss = nn::loss::IgnoreIndexCrossEntropy::new(0);
    /// assert_eq!(loss, nn::loss::CrossEntropy.ignore_index(0));
    /// ```
    pub fn new(ignore_index: usize) -> Self {
        IgnoreIndexCrossEntropy { ignore_index }
    }

    /// The label whose positions are left out.
    ///
    /// ```
    /// assert_eq!(nn::loss::CrossEntropy.ignore_index(27).ignore_index(), 27);
    /// ```
    pub fn ignore_index(&self) -> usize {
        self.ignore_index
    }
}

impl<const C: usize, const T: usize> Loss<[[f32; C]; T]> for IgnoreIndexCrossEntropy {
    type Target = [usize; T];

    fn loss_and_grad(&self, outputs: &[[[f32; C]; T]], targets: &[[usize; T]], grad: &mut [[[f32; C]; T]]) -> f32 {
        sequence_loss_and_grad(outputs, targets, grad, Some(self.ignore_index))
    }

    fn loss(&self, outputs: &[[[f32; C]; T]], targets: &[[usize; T]]) -> f32 {
        sequence_loss(outputs, targets, Some(self.ignore_index))
    }

    /// The positions whose label is not the ignore index.
    fn counted(&self, targets: &[[usize; T]]) -> usize {
        counted(targets, Some(self.ignore_index))
    }

    /// Each label must be a class of `C` or the ignore index.
    ///
    /// ```
    /// use nn::loss::{CrossEntropy, Loss};
    /// let loss = CrossEntropy.ignore_index(usize::MAX);
    /// assert!(Loss::<[[f32; 3]; 2]>::check_target(&loss, &[2, usize::MAX], 0).is_ok());
    /// let error = Loss::<[[f32; 3]; 2]>::check_target(&loss, &[1, 3], 4).unwrap_err();
    /// assert_eq!(error.to_string(), "sample 4 has label 3 at position 1, but the network has only 3 outputs (classes 0..3)");
    /// ```
    fn check_target(&self, target: &[usize; T], index: usize) -> crate::Result<()> {
        check_labels::<C, T>(target, index, Some(self.ignore_index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_with_nothing_to_count_has_loss_and_gradient_zero() {
        let loss = CrossEntropy.ignore_index(9);
        let logits = [[[1.0f32, 2.0, 3.0]; 2]; 3];
        let targets = [[9, 9]; 3];
        let mut grad = [[[f32::NAN; 3]; 2]; 3];
        assert_eq!(loss.loss_and_grad(&logits, &targets, &mut grad), 0.0);
        assert_eq!(loss.loss(&logits, &targets), 0.0);
        assert_eq!(grad, [[[0.0; 3]; 2]; 3]);
        assert_eq!(Loss::<[[f32; 3]; 2]>::counted(&loss, &targets), 0);
    }

    #[test]
    fn without_ignored_labels_it_is_the_plain_sequence_cross_entropy() {
        let logits = [
            [[0.3f32, -1.0, 2.0], [1.5, 0.0, -0.5]],
            [[-2.0, 0.1, 0.2], [0.0, 0.0, 4.0]],
        ];
        let targets = [[2, 0], [1, 2]];
        let (mut plain_grad, mut ignore_grad) = ([[[0.0; 3]; 2]; 2], [[[0.0; 3]; 2]; 2]);
        let plain = CrossEntropy.loss_and_grad(&logits, &targets, &mut plain_grad);
        let ignoring = CrossEntropy
            .ignore_index(usize::MAX)
            .loss_and_grad(&logits, &targets, &mut ignore_grad);
        assert_eq!(plain, ignoring);
        assert_eq!(plain_grad, ignore_grad);
        assert_eq!(plain, CrossEntropy.loss(&logits, &targets));
        assert_eq!(Loss::<[[f32; 3]; 2]>::counted(&CrossEntropy, &targets), 4);
    }
}
