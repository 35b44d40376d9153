//! Loss and accuracy of a network on a dataset.

use super::gather;
use crate::data::Dataset;
use crate::layer::{Layer, Mode};
use crate::loss::Loss;
use crate::tensor::prefix_mut;
use crate::{Error, Result};

/// The result of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per term of the loss: per sample, or per counted position of a sequence loss
    /// (the positions an ignore index does not skip), as PyTorch averages over a whole set.
    pub loss: f32,
    /// Share of samples predicted correctly, in `[0, 1]`, for classification losses.
    pub accuracy: Option<f32>,
}

/// Runs `net` over all of `data` in batches of `batch_size` (evaluation mode) and returns the
/// mean loss and, for classification, the accuracy.
///
/// `batch_size` is how many samples go through the network at once. It changes neither the
/// loss nor the accuracy (beyond float rounding): it bounds the memory of the activations
/// (`batch_size` times the network's activations per sample) and lets the batched kernels and
/// threads work; 256 to 1000 suits networks of MNIST's size, and 0 counts as 1.
///
/// Errors if `data` is empty, or on a target that is invalid for the loss (a label beyond the
/// network's outputs), naming the sample:
///
/// ```
/// use nn::prelude::*;
/// network! { struct Pick: [2] => Linear<2, 2> }
/// let data = nn::data::InMemory::new(vec![[1.0, 0.0]], vec![3]).unwrap();
/// let error = nn::evaluate(&Pick::init(0), &CrossEntropy, &data, 2).unwrap_err();
/// assert_eq!(error.to_string(), "sample 0 has label 3, but the network has only 2 outputs (classes 0..2)");
/// ```
///
/// ```
/// use nn::prelude::*;
/// network! { struct Pick: [2] => Linear<2, 2> }
/// let mut net = Pick::init(0);
/// *net.layer_0.weight = [[1.0, 0.0], [0.0, 1.0]];
/// *net.layer_0.bias = [0.0, 0.0];
/// let data = nn::data::InMemory::new(vec![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], vec![0, 1, 1]).unwrap();
/// let result = nn::evaluate(&net, &CrossEntropy, &data, 2).unwrap();
/// assert_eq!(result.accuracy, Some(2.0 / 3.0));
/// ```
pub fn evaluate<N, L, D>(net: &N, loss: &L, data: &D, batch_size: usize) -> Result<Evaluation>
where
    D: Dataset,
    N: Layer<D::Input>,
    L: Loss<N::Output, Target = D::Target>,
{
    if data.is_empty() {
        return Err(Error::InvalidArgument(
            "evaluate: the dataset is empty, so it has no loss or accuracy".into(),
        ));
    }
    let batch_size = batch_size.max(1);
    let (mut inputs, mut targets, mut outputs) = (Vec::new(), Vec::new(), Vec::new());
    let mut cache = N::Cache::default();
    // The loss is averaged over its terms (`Loss::counted`: the positions that are not ignored,
    // for a loss with an ignore index), so that the mean over the batches is PyTorch's mean
    // over the whole set.
    let (mut total_loss, mut terms, mut correct, mut judged) = (0.0f64, 0usize, 0usize, 0usize);
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(batch_size) {
        gather(data, chunk, &mut inputs, &mut targets);
        // Checked before the loss, which indexes the outputs by the label.
        for ((target, input), &index) in targets.iter().zip(&inputs).zip(chunk) {
            loss.check_target(target, index)?;
            net.check_input(input, index)?;
        }
        let outputs = prefix_mut(&mut outputs, chunk.len());
        net.forward_batch(&inputs, outputs, &mut cache, Mode::Eval);
        let batch_terms = loss.counted(&targets);
        total_loss += f64::from(loss.loss(outputs, &targets)) * batch_terms as f64;
        terms += batch_terms;
        for (output, target) in outputs.iter().zip(&targets) {
            if let Some(is_correct) = loss.is_correct(output, target) {
                judged += 1;
                correct += usize::from(is_correct);
            }
        }
    }
    Ok(Evaluation {
        loss: if terms == 0 {
            0.0
        } else {
            (total_loss / terms as f64) as f32
        },
        accuracy: (judged > 0).then(|| correct as f32 / judged as f32),
    })
}
