//! `Mse`: mean squared error, as `torch.nn.MSELoss()`.

use super::Loss;
use crate::Tensor;

/// Mean squared error over every element of the batch, PyTorch's `nn.MSELoss()`:
/// `mean((output - target)^2)`, the mean taken over batch and elements alike.
///
/// ```
/// use nn::loss::{Loss, Mse};
/// assert_eq!(Mse.loss(&[[1.0f32, 3.0]], &[[0.0, 0.0]]), 5.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mse;

impl<O: Tensor> Loss<O> for Mse {
    type Target = O;

    fn loss_and_grad(&self, outputs: &[O], targets: &[O], grad: &mut [O]) -> f32 {
        let count = (outputs.len() * O::LEN) as f32;
        let mut total = 0.0;
        let pairs = O::flat_batch(outputs).iter().zip(O::flat_batch(targets));
        for (g, (&y, &t)) in O::flat_batch_mut(grad).iter_mut().zip(pairs) {
            let diff = y - t;
            total += diff * diff;
            *g = 2.0 * diff / count;
        }
        total / count
    }

    fn loss(&self, outputs: &[O], targets: &[O]) -> f32 {
        let count = (outputs.len() * O::LEN) as f32;
        let pairs = O::flat_batch(outputs).iter().zip(O::flat_batch(targets));
        pairs.map(|(&y, &t)| (y - t) * (y - t)).sum::<f32>() / count
    }
}
