//! `BceWithLogits`: sigmoid and binary cross-entropy fused, as `torch.nn.BCEWithLogitsLoss()`.

use super::Loss;
use crate::Tensor;

/// Binary cross-entropy on logits, PyTorch's `nn.BCEWithLogitsLoss()` (mean over batch and
/// elements alike): each output `x` is a logit, each target `y` a probability in `[0, 1]`.
///
/// Computed in the numerically stable form `max(x, 0) - x * y + ln(1 + exp(-|x|))`, which never
/// overflows however large `|x|` is, with its gradient fused: `(sigmoid(x) - y) / count`.
///
/// Targets are tensors shaped like the output (one probability per output; multi-label
/// classification is one output per label). [`Loss::is_correct`] counts a sample as correct
/// when every output is on the right side of 0 (`x > 0` exactly where `y > 0.5`).
///
/// ```
/// use nn::loss::{BceWithLogits, Loss};
/// // A logit of 0 is probability 1/2: loss ln 2 whatever the target.
/// let loss = BceWithLogits.loss(&[[0.0f32]], &[[1.0]]);
/// assert!((loss - std::f32::consts::LN_2).abs() < 1e-6);
/// // Huge logits stay finite.
/// assert_eq!(BceWithLogits.loss(&[[1000.0f32, -1000.0]], &[[1.0, 0.0]]), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BceWithLogits;

/// `max(x, 0) - x * y + ln(1 + exp(-|x|))`: the loss of one element, stable for any `x`.
fn element_loss(x: f32, y: f32) -> f32 {
    x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()
}

/// `sigmoid(x)` without overflow: `exp` is only taken of `-|x|`.
fn sigmoid(x: f32) -> f32 {
    let e = (-x.abs()).exp();
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

impl<O: Tensor> Loss<O> for BceWithLogits {
    type Target = O;

    fn loss_and_grad(&self, outputs: &[O], targets: &[O], grad: &mut [O]) -> f32 {
        let count = (outputs.len() * O::LEN) as f32;
        let mut total = 0.0;
        let pairs = O::flat_batch(outputs).iter().zip(O::flat_batch(targets));
        for (g, (&x, &y)) in O::flat_batch_mut(grad).iter_mut().zip(pairs) {
            total += element_loss(x, y);
            *g = (sigmoid(x) - y) / count;
        }
        total / count
    }

    fn loss(&self, outputs: &[O], targets: &[O]) -> f32 {
        let count = (outputs.len() * O::LEN) as f32;
        let pairs = O::flat_batch(outputs).iter().zip(O::flat_batch(targets));
        pairs.map(|(&x, &y)| element_loss(x, y)).sum::<f32>() / count
    }

    fn is_correct(&self, output: &O, target: &O) -> Option<bool> {
        let mut pairs = output.flat().iter().zip(target.flat());
        Some(pairs.all(|(&x, &y)| (x > 0.0) == (y > 0.5)))
    }
}
