//! Loss and accuracy of a network on a dataset.

use super::gather;
use crate::aligned::Buffer;
use crate::data::Dataset;
use crate::layer::{Layer, Mode};
use crate::loss::Loss;
use crate::tensor::prefix_mut;
use crate::{Error, Result};

/// How many samples [`evaluate`] runs through the network at once.
const EVALUATION_BATCH: usize = 256;

/// The result of [`evaluate`]: the mean loss and the accuracy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per term of the loss: per sample, or per counted position of a sequence loss
    /// (the positions an ignore index does not skip), as PyTorch averages over a whole set.
    pub loss: f32,
    /// Share of samples predicted correctly, in `[0, 1]`, for a loss that classifies
    /// ([`CrossEntropy`](crate::loss::CrossEntropy), [`BceWithLogits`](crate::loss::BceWithLogits),
    /// a loss whose [`Loss::is_correct`] says); NaN for one that does not
    /// ([`Mse`](crate::loss::Mse)), where right and wrong have no meaning.
    pub accuracy: f32,
}

impl Evaluation {
    /// Whether [`Evaluation::accuracy`] was measured: the loss classifies.
    pub fn has_accuracy(&self) -> bool {
        !self.accuracy.is_nan()
    }
}

/// The mean loss and the accuracy of `net` on all of `data`, in evaluation mode (dropout off,
/// batch norms on their running statistics).
///
/// ```
/// use nn::prelude::*;
/// network! { struct Pick: [2] => Linear<2, 2> }
/// let mut net = Pick::init(0);
/// *net.layer_0.weight = [[1.0, 0.0], [0.0, 1.0]];
/// *net.layer_0.bias = [0.0, 0.0];
/// let data = nn::data::InMemory::new(vec![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], vec![0, 1, 1]).unwrap();
/// let result = nn::evaluate(&net, &CrossEntropy, &data)?;
/// assert_eq!(result.accuracy, 2.0 / 3.0);
/// # Ok::<(), nn::Error>(())
/// ```
///
/// Errors if `data` is empty, or on a sample that is invalid for the loss or the network (a
/// label beyond the network's outputs, a token id beyond its vocabulary), naming the sample:
///
/// ```
/// use nn::prelude::*;
/// network! { struct Pick: [2] => Linear<2, 2> }
/// let data = nn::data::InMemory::new(vec![[1.0, 0.0]], vec![3]).unwrap();
/// let error = nn::evaluate(&Pick::init(0), &CrossEntropy, &data).unwrap_err();
/// assert_eq!(error.to_string(), "sample 0 has label 3, but the network has only 2 outputs (classes 0..2)");
/// ```
///
/// The samples go through the network 256 at a time; [`evaluate_in_batches`] chooses another
/// number.
pub fn evaluate<N, L, D>(net: &N, loss: &L, data: &D) -> Result<Evaluation>
where
    D: Dataset + ?Sized,
    N: Layer<D::Input>,
    L: Loss<N::Output, Target = D::Target>,
{
    evaluate_in_batches(net, loss, data, EVALUATION_BATCH)
}

/// [`evaluate`], running `batch_size` samples through the network at once.
///
/// The batch size changes neither the loss nor the accuracy (beyond float rounding): it bounds
/// the memory of the activations (`batch_size` times the network's activations per sample) and
/// gives the batched kernels and threads work. 0 counts as 1.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Line: [1] => Linear<1, 1> }
/// let data = nn::data::InMemory::new(vec![[1.0], [2.0], [3.0]], vec![[2.0], [4.0], [6.0]]).unwrap();
/// let net = Line::init(0);
/// let small = nn::train::evaluate_in_batches(&net, &Mse, &data, 1)?;
/// let whole = nn::evaluate(&net, &Mse, &data)?;
/// assert!((small.loss - whole.loss).abs() <= 1e-6 * whole.loss);
/// assert!(!whole.has_accuracy()); // a regression loss has no accuracy
/// # Ok::<(), nn::Error>(())
/// ```
pub fn evaluate_in_batches<N, L, D>(net: &N, loss: &L, data: &D, batch_size: usize) -> Result<Evaluation>
where
    D: Dataset + ?Sized,
    N: Layer<D::Input>,
    L: Loss<N::Output, Target = D::Target>,
{
    if data.is_empty() {
        return Err(Error::InvalidArgument(
            "evaluate: the dataset is empty, so it has no loss or accuracy".into(),
        ));
    }
    let batch_size = batch_size.max(1);
    let (mut inputs, mut targets, mut outputs) = (Buffer::new(), Vec::new(), Buffer::new());
    let mut cache = N::Cache::default();
    // The loss is averaged over its terms (`Loss::counted`: the positions that are not ignored,
    // for a loss with an ignore index), so that the mean over the batches is PyTorch's mean
    // over the whole set.
    let (mut total_loss, mut terms, mut correct, mut judged) = (0.0f64, 0usize, 0usize, 0usize);
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(batch_size) {
        let inputs = gather(data, chunk, &mut inputs, &mut targets);
        // Checked before the loss, which indexes the outputs by the label.
        for ((target, input), &index) in targets.iter().zip(inputs).zip(chunk) {
            loss.check_target(target, index)?;
            net.check_input(input, index)?;
        }
        let outputs = prefix_mut(&mut outputs, chunk.len());
        net.forward_batch(inputs, outputs, &mut cache, Mode::Eval);
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
        accuracy: if judged > 0 {
            correct as f32 / judged as f32
        } else {
            f32::NAN
        },
    })
}
