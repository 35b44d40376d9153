//! `CrossEntropy`: log-softmax and negative log-likelihood fused, as `torch.nn.CrossEntropyLoss()`.

use super::Loss;
use crate::metrics::argmax;
use crate::special::{exp, Block, Values, BLOCK};
use crate::widest::widest_vectors;
use crate::Error;

/// Cross-entropy between the softmax of the logits and a class index, PyTorch's
/// `nn.CrossEntropyLoss()` (mean over the batch).
///
/// Computed through a numerically stable log-softmax (the largest logit is subtracted first),
/// and its gradient is fused with it: `(softmax(x) - onehot(label)) / batch`.
///
/// ```
/// use nn::loss::{CrossEntropy, Loss};
/// // Two equal logits: probability 1/2 each, loss ln 2.
/// let loss = CrossEntropy.loss(&[[1.0f32, 1.0]], &[0]);
/// assert!((loss - std::f32::consts::LN_2).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrossEntropy;

impl CrossEntropy {
    /// `(max logit, ln sum exp(logit - max))`: the pieces of a stable log-sum-exp.
    pub(super) fn log_sum_exp<const N: usize>(logits: &[f32; N]) -> (f32, f32) {
        let max = row_max(logits);
        let sum = logits.iter().fold(0.0, |sum, &x| sum + softmax_exp(x - max));
        (max, sum.ln())
    }
}

/// The largest logit of a row.
fn row_max(logits: &[f32]) -> f32 {
    logits.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// `e^x` for the arguments of a softmax (`x <= 0`), within 3 ulps, and 0 below -87 (where
/// libm's result is under 2^-125), so that a logit of minus infinity has probability 0, as
/// in torch. The same bits on one value or a [`Block`].
#[inline(always)]
fn softmax_exp<V: Values>(x: V) -> V {
    x.zip(exp(x), |x, e| if x < -87.0 { 0.0 } else { e })
}

widest_vectors! {
    /// `values[i] = softmax_exp(values[i])`, by whole [`Block`]s, then one value at a time
    /// (the same bits). A batch's exponentials in one pass run at the vector units' rate,
    /// where a call per value waits on each one's chain of operations.
    fn softmax_exp_all(values: &mut [f32]) {
        let (blocks, rest) = values.as_chunks_mut::<BLOCK>();
        for block in blocks {
            *block = softmax_exp(Block(*block)).0;
        }
        for value in rest {
            *value = softmax_exp(*value);
        }
    }
}

impl<const N: usize> Loss<[f32; N]> for CrossEntropy {
    type Target = usize;

    fn loss_and_grad(&self, outputs: &[[f32; N]], targets: &[usize], grad: &mut [[f32; N]]) -> f32 {
        let scale = 1.0 / outputs.len() as f32;
        // The exponentials of the whole batch are taken in passes over `grad`: first
        // `e^(x - max)`, summed by row, then `e^(x - max - log_sum)`, the softmax.
        for (logits, grad) in outputs.iter().zip(grad.iter_mut()) {
            let max = row_max(logits);
            for (g, &x) in grad.iter_mut().zip(logits) {
                *g = x - max;
            }
        }
        softmax_exp_all(grad.as_flattened_mut());
        let mut total = 0.0;
        for ((logits, &label), grad) in outputs.iter().zip(targets).zip(grad.iter_mut()) {
            let max = row_max(logits);
            let log_sum = grad.iter().fold(0.0f32, |sum, &e| sum + e).ln();
            total += log_sum - (logits[label] - max);
            for (g, &x) in grad.iter_mut().zip(logits) {
                *g = x - max - log_sum;
            }
        }
        softmax_exp_all(grad.as_flattened_mut());
        for (grad, &label) in grad.iter_mut().zip(targets) {
            for g in grad.iter_mut() {
                *g *= scale;
            }
            grad[label] -= scale;
        }
        total * scale
    }

    fn loss(&self, outputs: &[[f32; N]], targets: &[usize]) -> f32 {
        let total: f32 = outputs
            .iter()
            .zip(targets)
            .map(|(logits, &label)| {
                let (max, log_sum) = Self::log_sum_exp(logits);
                log_sum - (logits[label] - max)
            })
            .sum();
        total / outputs.len() as f32
    }

    fn is_correct(&self, output: &[f32; N], target: &usize) -> Option<bool> {
        Some(argmax(output) == *target)
    }

    fn check_target(&self, target: &usize, index: usize) -> crate::Result<()> {
        if *target < N {
            Ok(())
        } else {
            Err(Error::LabelOutOfRange {
                index,
                label: *target,
                classes: N,
            })
        }
    }
}

impl CrossEntropy {
    /// Cross-entropy against targets smoothed by `label_smoothing`, PyTorch's
    /// `nn.CrossEntropyLoss(label_smoothing=...)`: see [`SmoothedCrossEntropy`].
    ///
    /// ```
    /// use nn::loss::{CrossEntropy, Loss};
    /// let loss = CrossEntropy::with_label_smoothing(0.1);
    /// assert_eq!(loss.label_smoothing(), 0.1);
    /// // With smoothing 0 it is the plain cross-entropy.
    /// let logits = [[2.0f32, -1.0, 0.5]];
    /// let plain = CrossEntropy.loss(&logits, &[0]);
    /// assert!((CrossEntropy::with_label_smoothing(0.0).loss(&logits, &[0]) - plain).abs() < 1e-6);
    /// ```
    pub fn with_label_smoothing(label_smoothing: f32) -> SmoothedCrossEntropy {
        SmoothedCrossEntropy::new(label_smoothing)
    }
}

/// Cross-entropy with label smoothing, PyTorch's
/// `nn.CrossEntropyLoss(label_smoothing=eps)` (class-index targets, mean over the batch).
///
/// The target of a sample of class `k` among `C` classes is `(1 - eps) * onehot(k) + eps / C`,
/// so the loss is torch's
/// `(1 - eps) * nll + eps / C * sum_j -log_softmax(x)_j`, each term averaged over the batch,
/// and its gradient, fused with it, `(softmax(x) - (1 - eps) * onehot(k) - eps / C) / batch`.
/// The log-softmax is the same stable one as [`CrossEntropy`]'s. torch requires `eps` in
/// `[0, 1]`; other values are used as given.
///
/// ```
/// use nn::loss::{CrossEntropy, Loss};
/// // Two equal logits: the smoothed target is still (1/2, 1/2), the loss ln 2.
/// let loss = CrossEntropy::with_label_smoothing(0.2).loss(&[[1.0f32, 1.0]], &[0]);
/// assert!((loss - std::f32::consts::LN_2).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SmoothedCrossEntropy {
    label_smoothing: f32,
}

impl SmoothedCrossEntropy {
    /// Smoothing `label_smoothing` (`eps` above; torch's `label_smoothing=`, commonly 0.1).
    ///
    /// ```
    /// let loss = nn::loss::SmoothedCrossEntropy::new(0.1);
    /// ```
    pub fn new(label_smoothing: f32) -> Self {
        SmoothedCrossEntropy { label_smoothing }
    }

    /// The smoothing factor.
    ///
    /// ```
    /// assert_eq!(nn::loss::SmoothedCrossEntropy::new(0.1).label_smoothing(), 0.1);
    /// ```
    pub fn label_smoothing(&self) -> f32 {
        self.label_smoothing
    }

    /// `(nll, -sum_j log_softmax_j)` of one sample, and the stable log-sum-exp pieces.
    fn sample<const N: usize>(logits: &[f32; N], label: usize) -> (f32, f32, f32, f32) {
        let (max, log_sum) = CrossEntropy::log_sum_exp(logits);
        let nll = log_sum - (logits[label] - max);
        let smooth: f32 = logits.iter().map(|&x| log_sum - (x - max)).sum();
        (nll, smooth, max, log_sum)
    }

    /// torch: `(1 - eps) * nll.mean() + smooth.mean() * (eps / C)`.
    fn combine(&self, nll_total: f32, smooth_total: f32, batch: usize, classes: usize) -> f32 {
        let eps = self.label_smoothing;
        let batch = batch as f32;
        (1.0 - eps) * (nll_total / batch) + (smooth_total / batch) * (eps / classes as f32)
    }
}

impl<const N: usize> Loss<[f32; N]> for SmoothedCrossEntropy {
    type Target = usize;

    fn loss_and_grad(&self, outputs: &[[f32; N]], targets: &[usize], grad: &mut [[f32; N]]) -> f32 {
        let eps = self.label_smoothing;
        let scale = 1.0 / outputs.len() as f32;
        let (uniform, on_label) = (eps / N as f32 * scale, (1.0 - eps) * scale);
        let (mut nll_total, mut smooth_total) = (0.0, 0.0);
        for ((logits, &label), grad) in outputs.iter().zip(targets).zip(grad) {
            let (nll, smooth, max, log_sum) = Self::sample(logits, label);
            nll_total += nll;
            smooth_total += smooth;
            for (g, &x) in grad.iter_mut().zip(logits) {
                *g = softmax_exp(x - max - log_sum) * scale - uniform;
            }
            grad[label] -= on_label;
        }
        self.combine(nll_total, smooth_total, outputs.len(), N)
    }

    fn loss(&self, outputs: &[[f32; N]], targets: &[usize]) -> f32 {
        let (mut nll_total, mut smooth_total) = (0.0, 0.0);
        for (logits, &label) in outputs.iter().zip(targets) {
            let (nll, smooth, _, _) = Self::sample(logits, label);
            nll_total += nll;
            smooth_total += smooth;
        }
        self.combine(nll_total, smooth_total, outputs.len(), N)
    }

    fn is_correct(&self, output: &[f32; N], target: &usize) -> Option<bool> {
        CrossEntropy.is_correct(output, target)
    }

    fn check_target(&self, target: &usize, index: usize) -> crate::Result<()> {
        <CrossEntropy as Loss<[f32; N]>>::check_target(&CrossEntropy, target, index)
    }
}
