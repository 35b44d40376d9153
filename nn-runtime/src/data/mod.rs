//! Datasets: the [`Dataset`] trait, [`InMemory`] data, MNIST in IDX files, tabular data in
//! [`Csv`] files, [`Standardize`] and the [`RandomShift`] augmentation.

mod augment;
mod csv;
mod idx;
mod mnist;
mod standardize;

pub use augment::{RandomShift, Shift};
pub use csv::{Csv, MAX_CLASSES};
pub use idx::{read_idx_images, read_idx_labels};
pub use mnist::{Mnist, MnistImage};
pub use standardize::Standardize;

use crate::Tensor;

/// A finite, indexable set of samples, each an input tensor and its target.
///
/// For classification the target is the class index (`usize`); for regression it is a tensor
/// of the network's output shape.
///
/// Datasets are `Sync`: the trainer copies a batch's samples on the kernel threads, so `get`
/// may run on several threads at once and in any order. A sample must therefore depend only on
/// its index (and on how often that index was read, as [`RandomShift`] does), not on the order
/// of the calls.
///
/// ```
/// use nn::data::{Dataset, InMemory};
/// let data = InMemory::new(vec![[0.0f32; 2], [1.0, 1.0]], vec![0, 1]).unwrap();
/// assert_eq!(data.len(), 2);
/// assert_eq!(data.get(1), ([1.0, 1.0], 1));
/// ```
pub trait Dataset: Sync {
    /// One sample's input.
    type Input: crate::Input;
    /// One sample's target: a class index or a tensor.
    type Target: Copy + Send + Sync + 'static;
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Sample `index` (`0..len()`): its input and its target.
    fn get(&self, index: usize) -> (Self::Input, Self::Target);

    /// Writes sample `index` into a batch's slots: what the trainer calls. Not a public API.
    ///
    /// [`get`](Dataset::get) returns the sample by value, which the compiler copies twice on
    /// its way into the batch (to the stack, then to the slot): for an MNIST image a third of
    /// the time a batch takes to gather. Data held in memory overrides this with one copy.
    #[doc(hidden)]
    fn __write_sample(
        &self,
        index: usize,
        input: &mut std::mem::MaybeUninit<Self::Input>,
        target: &mut std::mem::MaybeUninit<Self::Target>,
    ) {
        let (x, y) = self.get(index);
        input.write(x);
        target.write(y);
    }

    /// Where sample `index`'s input is in memory, if it is there to be read as it is: threads
    /// of the trainer that wait fetch the next batch's inputs into their caches. Not a public
    /// API.
    #[doc(hidden)]
    fn __input_address(&self, index: usize) -> Option<usize> {
        let _ = index;
        None
    }
}

/// Samples already in memory: a vector of inputs and a vector of their targets.
///
/// ```
/// use nn::data::{Dataset, InMemory};
/// // Regression targets are tensors.
/// let line = InMemory::new(vec![[1.0f32], [2.0]], vec![[2.0f32], [4.0]]).unwrap();
/// assert_eq!(line.get(0).1, [2.0]);
/// // Inputs and targets must pair up.
/// assert!(InMemory::new(vec![[1.0f32]], Vec::<usize>::new()).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InMemory<I, T = usize> {
    inputs: Vec<I>,
    targets: Vec<T>,
}

impl<I: crate::Input, T: Copy + Send + Sync + 'static> InMemory<I, T> {
    /// Pairs `inputs[i]` with `targets[i]`; they must have the same length.
    pub fn new(inputs: Vec<I>, targets: Vec<T>) -> crate::Result<Self> {
        if inputs.len() != targets.len() {
            return Err(crate::Error::InvalidArgument(format!(
                "InMemory::new: {} inputs but {} targets; each input needs exactly one target",
                inputs.len(),
                targets.len()
            )));
        }
        Ok(InMemory { inputs, targets })
    }

    /// The inputs.
    pub fn inputs(&self) -> &[I] {
        &self.inputs
    }

    /// The targets.
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// The same samples with every input passed through `f`: a reshape such as giving MNIST's
    /// `[28, 28]` digits the channel dimension a convolution takes, `[1, 28, 28]`.
    ///
    /// ```
    /// use nn::data::{Dataset, InMemory};
    /// let digits = InMemory::new(vec![[[0.5f32; 2]; 2]], vec![7]).unwrap();
    /// let images = digits.map_inputs(|digit| [digit]);
    /// assert_eq!(images.get(0), ([[[0.5; 2]; 2]], 7));
    /// ```
    pub fn map_inputs<J: crate::Input>(self, f: impl FnMut(I) -> J) -> InMemory<J, T> {
        InMemory {
            inputs: self.inputs.into_iter().map(f).collect(),
            targets: self.targets,
        }
    }

    pub(crate) fn inputs_mut(&mut self) -> &mut [I] {
        &mut self.inputs
    }

    pub(crate) fn targets_mut(&mut self) -> &mut [T] {
        &mut self.targets
    }
}

impl<I: Tensor, T: Copy + Send + Sync + 'static> InMemory<I, T> {
    /// Standardises every input value in place: `x <- (x - mean) / std`, as torchvision's
    /// `transforms.Normalize((mean,), (std,))`.
    ///
    /// ```
    /// use nn::data::{Dataset, InMemory};
    /// let mut data = InMemory::new(vec![[3.0f32, 5.0]], vec![0]).unwrap();
    /// data.normalize(1.0, 2.0).unwrap();
    /// assert_eq!(data.get(0).0, [1.0, 2.0]);
    /// // A zero std would fill the data with infinities: an error, and the data is unchanged.
    /// assert!(data.normalize(0.0, 0.0).is_err());
    /// assert_eq!(data.get(0).0, [1.0, 2.0]);
    /// ```
    ///
    /// Errors, changing nothing, unless `mean` is finite and `std` finite and not zero.
    pub fn normalize(&mut self, mean: f32, std: f32) -> crate::Result<()> {
        check_normalize(mean, std)?;
        for value in I::flat_batch_mut(&mut self.inputs) {
            *value = (*value - mean) / std;
        }
        Ok(())
    }
}

impl<I: crate::Input, T: Copy + Send + Sync + 'static> Dataset for InMemory<I, T> {
    type Input = I;
    type Target = T;

    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn get(&self, index: usize) -> (I, T) {
        (self.inputs[index], self.targets[index])
    }

    fn __write_sample(
        &self,
        index: usize,
        input: &mut std::mem::MaybeUninit<I>,
        target: &mut std::mem::MaybeUninit<T>,
    ) {
        input.write(self.inputs[index]);
        target.write(self.targets[index]);
    }

    fn __input_address(&self, index: usize) -> Option<usize> {
        self.inputs.get(index).map(|input| std::ptr::from_ref(input) as usize)
    }
}

/// An error unless `(x - mean) / std` is finite for every finite `x` (up to overflow).
pub(crate) fn check_normalize(mean: f32, std: f32) -> crate::Result<()> {
    if mean.is_finite() && std.is_finite() && std != 0.0 {
        Ok(())
    } else {
        Err(crate::Error::InvalidArgument(format!(
            "normalize(mean {mean}, std {std}): the mean must be finite and the std finite and not zero"
        )))
    }
}
