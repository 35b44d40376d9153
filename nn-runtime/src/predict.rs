//! One-call batched inference: [`Predict`].

use crate::data::Dataset;
use crate::layer::{Layer, Mode};
use crate::{Error, Input, Result, Tensor};

/// Samples that go through the network at once: large enough for the batched kernels and the
/// threads, small enough that the activations of a big network stay a few megabytes.
const PREDICT_BATCH: usize = 256;

/// Batched inference in evaluation mode, for every [`Layer`] (so for every network): no cache,
/// mode or output buffer to set up. In scope through `nn::prelude::*`.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Net: [2] => Linear<2, 3> -> ReLU -> Linear<3, 2> }
/// let net = Net::init(0);
/// let inputs = [[1.0, 2.0], [3.0, 4.0]];
/// let outputs: Vec<[f32; 2]> = net.predict(&inputs)?;
/// assert_eq!(outputs, vec![net.forward(&inputs[0]), net.forward(&inputs[1])]);
///
/// let data = nn::data::InMemory::new(inputs.to_vec(), vec![0, 1])?;
/// assert_eq!(net.predict_dataset(&data)?, outputs);
/// # Ok::<(), nn::Error>(())
/// ```
pub trait Predict<I: Input>: Layer<I> {
    /// The outputs for `inputs`, in order, computed in batches in [`Mode::Eval`] (dropout off,
    /// batch norm with its running statistics). Equal to calling [`Layer::forward`] on each
    /// input, up to float rounding of the batched kernels.
    ///
    /// Errors, before any work, if an input can never be valid for the network (a token id
    /// outside its vocabulary, [`Layer::check_input`]).
    fn predict(&self, inputs: &[I]) -> Result<Vec<Self::Output>> {
        for (index, input) in inputs.iter().enumerate() {
            self.check_input(input, index)?;
        }
        Ok(forward_in_batches(self, inputs))
    }

    /// [`Predict::predict`] on every input of `data`, in index order (the targets are not
    /// read). Errors if `data` is empty.
    fn predict_dataset<D: Dataset<Input = I>>(&self, data: &D) -> Result<Vec<Self::Output>> {
        if data.is_empty() {
            return Err(Error::InvalidArgument("predict_dataset: the dataset is empty".into()));
        }
        let mut outputs = Vec::with_capacity(data.len());
        let mut inputs = Vec::with_capacity(PREDICT_BATCH.min(data.len()));
        let mut start = 0;
        while start < data.len() {
            let end = (start + PREDICT_BATCH).min(data.len());
            inputs.clear();
            inputs.extend((start..end).map(|index| data.get(index).0));
            for (offset, input) in inputs.iter().enumerate() {
                self.check_input(input, start + offset)?;
            }
            outputs.extend(forward_in_batches(self, &inputs));
            start = end;
        }
        Ok(outputs)
    }
}

impl<I: Input, L: Layer<I>> Predict<I> for L {}

/// The outputs of `net` for `inputs` in evaluation mode, [`PREDICT_BATCH`] samples at a time.
fn forward_in_batches<I: Input, N: Layer<I>>(net: &N, inputs: &[I]) -> Vec<N::Output> {
    let mut outputs = vec![N::Output::zeros(); inputs.len()];
    let mut cache = N::Cache::default();
    for (input, output) in inputs.chunks(PREDICT_BATCH).zip(outputs.chunks_mut(PREDICT_BATCH)) {
        net.forward_batch(input, output, &mut cache, Mode::Eval);
    }
    outputs
}
