//! `CrossEntropy`: log-softmax and negative log-likelihood fused, as `torch.nn.CrossEntropyLoss()`.

use super::Loss;
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
    fn log_sum_exp<const N: usize>(logits: &[f32; N]) -> (f32, f32) {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = logits.iter().map(|&x| (x - max).exp()).sum();
        (max, sum.ln())
    }
}

impl<const N: usize> Loss<[f32; N]> for CrossEntropy {
    type Target = usize;

    fn loss_and_grad(&self, outputs: &[[f32; N]], targets: &[usize], grad: &mut [[f32; N]]) -> f32 {
        let scale = 1.0 / outputs.len() as f32;
        let mut total = 0.0;
        for ((logits, &label), grad) in outputs.iter().zip(targets).zip(grad) {
            let (max, log_sum) = Self::log_sum_exp(logits);
            total += log_sum - (logits[label] - max);
            for (g, &x) in grad.iter_mut().zip(logits) {
                *g = (x - max - log_sum).exp() * scale;
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

/// The index of the largest value (the first one on ties, as `torch.argmax`).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = i;
        }
    }
    best
}
