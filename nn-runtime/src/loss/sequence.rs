//! Cross-entropy over every position of a sequence of logits `[[f32; C]; T]`, as PyTorch's
//! `F.cross_entropy(logits.reshape(-1, C), y.reshape(-1))`; the pieces shared with
//! [`IgnoreIndexCrossEntropy`](super::IgnoreIndexCrossEntropy).

use super::{CrossEntropy, Loss};
use crate::threads::split_row_groups;
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

/// Samples whose positions' losses are summed together before the groups are added, in group
/// order: the same bits whichever thread sums a group. Batches of more than
/// `GROUP_SAMPLES * MAX_GROUPS` samples use larger groups.
const GROUP_SAMPLES: usize = 16;
const MAX_GROUPS: usize = 64;

/// Values (positions times classes) below which a batch's loss is computed on one thread.
const PARALLEL_MIN_VALUES: usize = 16_384;

/// Samples per group for a batch of `samples`.
fn group_samples(samples: usize) -> usize {
    GROUP_SAMPLES.max(samples.div_ceil(MAX_GROUPS))
}

/// The mean cross-entropy over the positions whose label is not `ignore`, and its gradient
/// (zero at the ignored positions); 0 and a zero gradient when no position counts. The samples
/// are split between the threads in groups ([`group_samples`]).
///
/// The sums of the per-position losses are kept in f64: a batch holds thousands of positions,
/// and an f32 running sum would lose digits PyTorch's pairwise sum keeps.
pub(super) fn sequence_loss_and_grad<const C: usize, const T: usize>(
    outputs: &[[[f32; C]; T]],
    targets: &[[usize; T]],
    grad: &mut [[[f32; C]; T]],
    ignore: Option<usize>,
) -> f32 {
    let count = counted(targets, ignore);
    if count == 0 {
        grad.as_flattened_mut().fill([0.0; C]);
        return 0.0;
    }
    let scale = 1.0 / count as f32;
    let group = group_samples(outputs.len());
    let mut sums = [0.0f64; MAX_GROUPS];
    let sums = &mut sums[..outputs.len().div_ceil(group)];
    split_row_groups(grad, group, sums, 1, T * C, PARALLEL_MIN_VALUES, |first, grad, sums| {
        for (i, grad) in grad.iter_mut().enumerate() {
            let (logits, labels) = (&outputs[first + i], &targets[first + i]);
            sums[i / group] += sample_loss_and_grad(logits, labels, grad, ignore, scale);
        }
    });
    (sums.iter().sum::<f64>() / count as f64) as f32
}

/// The summed losses of one sample's positions, and their gradient scaled by `scale`.
#[inline]
fn sample_loss_and_grad<const C: usize, const T: usize>(
    logits: &[[f32; C]; T],
    labels: &[usize; T],
    grad: &mut [[f32; C]; T],
    ignore: Option<usize>,
    scale: f32,
) -> f64 {
    let mut total = 0.0f64;
    for ((logits, &label), grad) in logits.iter().zip(labels).zip(grad) {
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
    total
}

/// [`sequence_loss_and_grad`] without the gradient: the same operations and the same groups,
/// so both give the same loss.
pub(super) fn sequence_loss<const C: usize, const T: usize>(
    outputs: &[[[f32; C]; T]],
    targets: &[[usize; T]],
    ignore: Option<usize>,
) -> f32 {
    let count = counted(targets, ignore);
    if count == 0 {
        return 0.0;
    }
    let group = group_samples(outputs.len());
    let total: f64 = outputs
        .chunks(group)
        .zip(targets.chunks(group))
        .map(|(outputs, targets)| {
            let mut sum = 0.0f64;
            for (logits, labels) in outputs.iter().zip(targets) {
                sum += sample_loss(logits, labels, ignore);
            }
            sum
        })
        .sum();
    (total / count as f64) as f32
}

/// [`sample_loss_and_grad`]'s loss alone.
fn sample_loss<const C: usize, const T: usize>(
    logits: &[[f32; C]; T],
    labels: &[usize; T],
    ignore: Option<usize>,
) -> f64 {
    let mut total = 0.0f64;
    for (logits, &label) in logits.iter().zip(labels) {
        if Some(label) == ignore {
            continue;
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut exps = [0.0f32; C];
        for (e, &x) in exps.iter_mut().zip(logits) {
            *e = crate::special::exp(x - max);
        }
        let sum: f32 = exps.iter().sum();
        total += f64::from(sum.ln() - (logits[label] - max));
    }
    total
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
