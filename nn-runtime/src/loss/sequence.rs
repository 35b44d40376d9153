//! Cross-entropy over every position of a sequence of logits `[[f32; C]; T]`, as PyTorch's
//! `F.cross_entropy(logits.reshape(-1, C), y.reshape(-1))`; the pieces shared with
//! [`IgnoreIndexCrossEntropy`](super::IgnoreIndexCrossEntropy).

use super::{CrossEntropy, Loss};
use crate::Error;

/// `[[f32; C]; T]` logits against `[usize; T]` labels: the mean over every position of every
/// sample of the batch, PyTorch's `F.cross_entropy(logits.reshape(-1, C), y.reshape(-1))`, with
/// the same stable log-softmax and fused gradient `(softmax(x) - onehot(label)) / (batch * T)`
/// as one class label per sample. To leave positions out of the mean (padding), use
/// [`CrossEntropy::ignore_index`].
///
/// ```
/// use nn::loss::{CrossEntropy, Loss};
/// // Position 0: two equal logits, loss ln 2; position 1: logit 0 against ln 3, probability
/// // 1/2 for label 1, loss ln 2 too.
/// let logits = [[[0.0f32, 0.0], [3f32.ln(), 3f32.ln()]]];
/// let loss = CrossEntropy.loss(&logits, &[[0, 1]]);
/// assert!((loss - std::f32::consts::LN_2).abs() < 1e-6);
/// ```
impl<const C: usize, const T: usize> Loss<[[f32; C]; T]> for CrossEntropy {
    type Target = [usize; T];

    fn loss_and_grad(&self, outputs: &[[[f32; C]; T]], targets: &[[usize; T]], grad: &mut [[[f32; C]; T]]) -> f32 {
        sequence_loss_and_grad(outputs, targets, grad, None)
    }

    fn loss(&self, outputs: &[[[f32; C]; T]], targets: &[[usize; T]]) -> f32 {
        sequence_loss(outputs, targets, None)
    }

    /// Every position of every sample: `targets.len() * T`.
    fn counted(&self, targets: &[[usize; T]]) -> usize {
        targets.len() * T
    }

    fn check_target(&self, target: &[usize; T], index: usize) -> crate::Result<()> {
        check_labels::<C, T>(target, index, None)
    }
}

/// How many positions of `targets` count: those whose label is not `ignore`.
pub(super) fn counted<const T: usize>(targets: &[[usize; T]], ignore: Option<usize>) -> usize {
    match ignore {
        None => targets.len() * T,
        Some(ignore) => targets.as_flattened().iter().filter(|&&label| label != ignore).count(),
    }
}

/// The mean cross-entropy over the positions whose label is not `ignore`, and its gradient
/// (zero at the ignored positions); 0 and a zero gradient when no position counts.
///
/// The sum of the per-position losses is kept in f64: a batch holds thousands of positions,
/// and an f32 running sum would lose digits PyTorch's pairwise sum keeps.
pub(super) fn sequence_loss_and_grad<const C: usize, const T: usize>(
    outputs: &[[[f32; C]; T]],
    targets: &[[usize; T]],
    grad: &mut [[[f32; C]; T]],
    ignore: Option<usize>,
) -> f32 {
    let count = counted(targets, ignore);
    let grad = grad.as_flattened_mut();
    if count == 0 {
        grad.fill([0.0; C]);
        return 0.0;
    }
    let scale = 1.0 / count as f32;
    let mut total = 0.0f64;
    let positions = outputs.as_flattened().iter().zip(targets.as_flattened());
    for ((logits, &label), grad) in positions.zip(grad) {
        if Some(label) == ignore {
            grad.fill(0.0);
            continue;
        }
        // exp(x - max) is computed once, for both the loss and the softmax of the gradient, by
        // the branch-free `exp` the compiler vectorises (within 3 ulps).
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (g, &x) in grad.iter_mut().zip(logits) {
            *g = crate::special::exp(x - max);
        }
        let sum: f32 = grad.iter().sum();
        total += f64::from(sum.ln() - (logits[label] - max));
        let softmax_scale = scale / sum;
        grad.iter_mut().for_each(|g| *g *= softmax_scale);
        grad[label] -= scale;
    }
    (total / count as f64) as f32
}

/// [`sequence_loss_and_grad`] without the gradient.
pub(super) fn sequence_loss<const C: usize, const T: usize>(
    outputs: &[[[f32; C]; T]],
    targets: &[[usize; T]],
    ignore: Option<usize>,
) -> f32 {
    let count = counted(targets, ignore);
    if count == 0 {
        return 0.0;
    }
    let total: f64 = outputs
        .as_flattened()
        .iter()
        .zip(targets.as_flattened())
        .filter(|&(_, &label)| Some(label) != ignore)
        .map(|(logits, &label)| {
            // The same operations as `sequence_loss_and_grad`, so both give the same loss.
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut exps = [0.0f32; C];
            for (e, &x) in exps.iter_mut().zip(logits) {
                *e = crate::special::exp(x - max);
            }
            let sum: f32 = exps.iter().sum();
            f64::from(sum.ln() - (logits[label] - max))
        })
        .sum();
    (total / count as f64) as f32
}

/// The first label of `target` that is not a class of `C` (and not `ignore`), as
/// [`Error::PositionLabelOutOfRange`].
pub(super) fn check_labels<const C: usize, const T: usize>(
    target: &[usize; T],
    index: usize,
    ignore: Option<usize>,
) -> crate::Result<()> {
    match target.iter().position(|&label| label >= C && Some(label) != ignore) {
        None => Ok(()),
        Some(position) => Err(Error::PositionLabelOutOfRange {
            index,
            position,
            label: target[position],
            classes: C,
        }),
    }
}
