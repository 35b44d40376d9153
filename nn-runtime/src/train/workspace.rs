//! The buffers of one training step, allocated once and reused.

use crate::aligned::Buffer;
use crate::data::Dataset;
use crate::layer::{Layer, Mode};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::tensor::prefix_mut;
use crate::threads::split_rows_with;
use crate::Input;

/// Bytes of samples from which a batch is copied on the kernel threads.
const PARALLEL_MIN_BYTES: usize = 64 * 1024;

/// Everything a training step writes: the batch, outputs, output gradients, the network's
/// cache of activations and its model-shaped gradients.
///
/// Buffers grow to the largest batch seen and are reused, so after the first step a step
/// performs no heap allocation.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Line: [1] => Linear<1, 1> }
/// let mut net = Line::init(0);
/// let mut opt = nn::optim::Sgd::new(0.1);
/// let mut workspace = nn::train::Workspace::<Line, [f32; 1], [f32; 1]>::new();
/// let first = workspace.train_step(&mut net, &nn::loss::Mse, &mut opt, &[[1.0]], &[[2.0]]);
/// let later = workspace.train_step(&mut net, &nn::loss::Mse, &mut opt, &[[1.0]], &[[2.0]]);
/// assert!(later < first);
/// ```
pub struct Workspace<N: Layer<I>, I: Input, T> {
    inputs: Buffer<I>,
    targets: Vec<T>,
    outputs: Buffer<N::Output>,
    grad_outputs: Buffer<N::Output>,
    cache: N::Cache,
    grads: N,
}

impl<N: Layer<I>, I: Input, T: Copy> Default for Workspace<N, I, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: Layer<I>, I: Input, T: Copy> Workspace<N, I, T> {
    /// Empty buffers and zero gradients for network type `N`.
    pub fn new() -> Self {
        Workspace {
            inputs: Buffer::new(),
            targets: Vec::new(),
            outputs: Buffer::new(),
            grad_outputs: Buffer::new(),
            cache: N::Cache::default(),
            grads: N::zeros(),
        }
    }

    /// The gradients of the last step, shaped like the network.
    pub fn grads(&self) -> &N {
        &self.grads
    }

    /// One step on a batch: forward, fused loss and gradient, backward, optimizer update.
    /// Returns the batch's mean loss (before the update).
    pub fn train_step<L, O>(&mut self, net: &mut N, loss: &L, optimizer: &mut O, inputs: &[I], targets: &[T]) -> f32
    where
        L: Loss<N::Output, Target = T>,
        O: Optimizer,
    {
        let value = self.compute_grads(net, loss, inputs, targets);
        optimizer.step(net, &self.grads);
        value
    }

    /// Forward, loss and backward on a batch, leaving the gradients in [`Workspace::grads`]
    /// without updating the parameters. Returns the batch's mean loss.
    ///
    /// The network is `&mut` because the training-mode forward pass updates its running
    /// statistics ([`Layer::update_statistics`]: a batch norm's running mean and variance), as
    /// a forward pass of a PyTorch module in `train()` mode does.
    pub fn compute_grads<L>(&mut self, net: &mut N, loss: &L, inputs: &[I], targets: &[T]) -> f32
    where
        L: Loss<N::Output, Target = T>,
    {
        let batch = inputs.len();
        // A public function taking two slices that must pair up (issue 16): a panic naming both
        // lengths, in release builds too, rather than a step on the shorter batch.
        assert!(
            targets.len() == batch,
            "Workspace: {batch} inputs but {} targets; each input needs exactly one target",
            targets.len()
        );
        let outputs = prefix_mut(&mut self.outputs, batch);
        net.forward_batch(inputs, outputs, &mut self.cache, Mode::Train);
        net.update_statistics(&self.cache);
        let grad_outputs = prefix_mut(&mut self.grad_outputs, batch);
        let value = loss.loss_and_grad(outputs, targets, grad_outputs);
        net.backward_batch(inputs, outputs, grad_outputs, None, &mut self.cache, &mut self.grads);
        value
    }

    /// Scales the gradients of the last [`Workspace::compute_grads`] so their global L2 norm
    /// is at most `max_norm`, as `torch.nn.utils.clip_grad_norm_(params, max_norm)` does
    /// (scale `max_norm / (norm + 1e-6)` when the norm exceeds it). Returns the norm before
    /// clipping. `net` is only used to walk the gradients, which are shaped like it.
    pub fn clip_grad_norm(&mut self, net: &N, max_norm: f32) -> f32 {
        let mut sum_of_squares = 0.0f64;
        // `zip_params` walks parameter tensors without building key strings (no allocation).
        self.grads.zip_params(net, &mut |grad, _| {
            sum_of_squares += grad.iter().map(|&g| f64::from(g) * f64::from(g)).sum::<f64>();
        });
        let norm = sum_of_squares.sqrt() as f32;
        let scale = max_norm / (norm + 1e-6);
        if scale < 1.0 {
            self.grads
                .zip_params(net, &mut |grad, _| grad.iter_mut().for_each(|g| *g *= scale));
        }
        norm
    }

    /// Copies the samples `indices` of `data` into the workspace's batch and computes the
    /// gradients on them; returns the batch's mean loss.
    pub(crate) fn compute_grads_on<D, L>(&mut self, net: &mut N, loss: &L, data: &D, indices: &[usize]) -> f32
    where
        D: Dataset<Input = I, Target = T>,
        L: Loss<N::Output, Target = T>,
    {
        let mut inputs = std::mem::take(&mut self.inputs);
        let mut targets = std::mem::take(&mut self.targets);
        let batch = gather(data, indices, &mut inputs, &mut targets);
        let value = self.compute_grads(net, loss, batch, &targets);
        self.inputs = inputs;
        self.targets = targets;
        value
    }
}

/// Copies the samples `indices` of `data` into the first slots of `inputs` (grown if needed)
/// and replaces the contents of `targets` with their targets, reusing its capacity; returns the
/// batch of inputs. A large batch is copied on the kernel threads: reading samples scattered
/// over a large data set is bound by memory latency, which two cores halve.
pub(crate) fn gather<'a, D: Dataset + ?Sized>(
    data: &D,
    indices: &[usize],
    inputs: &'a mut Buffer<D::Input>,
    targets: &mut Vec<D::Target>,
) -> &'a [D::Input] {
    let batch = indices.len();
    let inputs = prefix_mut(inputs, batch);
    targets.clear();
    targets.reserve(batch);
    #[allow(unsafe_code)]
    // SAFETY: the same memory seen as slots that may be written; `__write_sample` writes only
    // whole samples, so every slot stays initialised.
    let slots = unsafe { &mut *(std::ptr::from_mut::<[D::Input]>(inputs) as *mut [std::mem::MaybeUninit<D::Input>]) };
    split_rows_with(
        slots,
        &mut targets.spare_capacity_mut()[..batch],
        1,
        size_of::<D::Input>(),
        PARALLEL_MIN_BYTES,
        |first, inputs, targets| {
            for ((input, target), &index) in inputs.iter_mut().zip(targets).zip(&indices[first..]) {
                data.__write_sample(index, input, target);
            }
        },
    );
    #[allow(unsafe_code)]
    // SAFETY: the parts above cover `0..batch`, and each wrote every slot of its part; had one
    // panicked, `split_rows_with` would have panicked before this line.
    unsafe {
        targets.set_len(batch);
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::gather;
    use crate::aligned::Buffer;
    use crate::data::{Dataset, InMemory};

    /// A dataset that only has `get`: it goes through `Dataset::__write_sample`'s default.
    struct ByValue(InMemory<[f32; 3]>);

    impl Dataset for ByValue {
        type Input = [f32; 3];
        type Target = usize;
        fn len(&self) -> usize {
            self.0.len()
        }
        fn get(&self, index: usize) -> ([f32; 3], usize) {
            self.0.get(index)
        }
    }

    /// A batch gathered from data in memory (one copy per sample) or through `get` (the
    /// default) holds the samples asked for, in their order, repeats included.
    #[test]
    fn gather_copies_the_samples_asked_for() {
        let inputs: Vec<[f32; 3]> = (0..10).map(|i| [i as f32, 10.0 * i as f32, -(i as f32)]).collect();
        let data = InMemory::new(inputs, (0..10).map(|i| 9 - i).collect()).unwrap();
        let indices = [7, 0, 7, 3, 9];
        let expected: Vec<_> = indices.iter().map(|&i| data.get(i)).collect();
        let (mut inputs, mut targets) = (Buffer::new(), vec![0; 8]);
        inputs.grow_to(2);
        let batch = gather(&data, &indices, &mut inputs, &mut targets);
        assert_eq!(
            batch.iter().copied().zip(targets.iter().copied()).collect::<Vec<_>>(),
            expected
        );
        let by_value = ByValue(data);
        let (mut inputs, mut targets) = (Buffer::new(), Vec::new());
        let batch = gather(&by_value, &indices, &mut inputs, &mut targets);
        assert_eq!(batch.iter().copied().zip(targets).collect::<Vec<_>>(), expected);
    }
}
