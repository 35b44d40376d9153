//! Per-sample tensors are plain arrays: `[f32; N]`, `[[f32; W]; H]`, `[[[f32; W]; H]; C]`.

use crate::aligned::Buffer;

/// A per-sample tensor: an array of `f32` of rank 1, 2 or 3, stored row-major.
///
/// Kernels see every tensor, and every batch of them, as one flat `&[f32]`.
///
/// ```
/// use nn::Tensor;
/// let image = [[1.0f32, 2.0], [3.0, 4.0]];
/// assert_eq!(<[[f32; 2]; 2]>::SHAPE, &[2, 2]);
/// assert_eq!(image.flat(), &[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(<[[f32; 2]; 2] as Tensor>::flat_batch(&[image, image]).len(), 8);
/// ```
pub trait Tensor: Copy + Send + Sync + 'static {
    /// Number of `f32` values.
    const LEN: usize;
    /// Dimensions, outermost first, as PyTorch writes them.
    const SHAPE: &'static [usize];
    /// The tensor filled with zeros.
    fn zeros() -> Self;
    /// The values, row-major.
    fn flat(&self) -> &[f32];
    /// The values, row-major, mutable.
    fn flat_mut(&mut self) -> &mut [f32];
    /// A batch of tensors as one row-major `[batch, LEN]` slice.
    fn flat_batch(batch: &[Self]) -> &[f32];
    /// A batch of tensors as one mutable row-major `[batch, LEN]` slice.
    fn flat_batch_mut(batch: &mut [Self]) -> &mut [f32];
}

impl<const N: usize> Tensor for [f32; N] {
    const LEN: usize = N;
    const SHAPE: &'static [usize] = &[N];
    fn zeros() -> Self {
        [0.0; N]
    }
    fn flat(&self) -> &[f32] {
        self
    }
    fn flat_mut(&mut self) -> &mut [f32] {
        self
    }
    fn flat_batch(batch: &[Self]) -> &[f32] {
        batch.as_flattened()
    }
    fn flat_batch_mut(batch: &mut [Self]) -> &mut [f32] {
        batch.as_flattened_mut()
    }
}

impl<const H: usize, const W: usize> Tensor for [[f32; W]; H] {
    const LEN: usize = H * W;
    const SHAPE: &'static [usize] = &[H, W];
    fn zeros() -> Self {
        [[0.0; W]; H]
    }
    fn flat(&self) -> &[f32] {
        self.as_flattened()
    }
    fn flat_mut(&mut self) -> &mut [f32] {
        self.as_flattened_mut()
    }
    fn flat_batch(batch: &[Self]) -> &[f32] {
        batch.as_flattened().as_flattened()
    }
    fn flat_batch_mut(batch: &mut [Self]) -> &mut [f32] {
        batch.as_flattened_mut().as_flattened_mut()
    }
}

impl<const C: usize, const H: usize, const W: usize> Tensor for [[[f32; W]; H]; C] {
    const LEN: usize = C * H * W;
    const SHAPE: &'static [usize] = &[C, H, W];
    fn zeros() -> Self {
        [[[0.0; W]; H]; C]
    }
    fn flat(&self) -> &[f32] {
        self.as_flattened().as_flattened()
    }
    fn flat_mut(&mut self) -> &mut [f32] {
        self.as_flattened_mut().as_flattened_mut()
    }
    fn flat_batch(batch: &[Self]) -> &[f32] {
        batch.as_flattened().as_flattened().as_flattened()
    }
    fn flat_batch_mut(batch: &mut [Self]) -> &mut [f32] {
        batch.as_flattened_mut().as_flattened_mut().as_flattened_mut()
    }
}

/// What a network takes for one sample: a [`Tensor`] of `f32`, or a fixed-length sequence of
/// token ids `[usize; T]` (the input of an [`Embedding`](crate::layer::Embedding)).
///
/// Token ids are `usize`, as class labels are, so that one id type serves inputs and targets;
/// an id outside a vocabulary is reported by [`Layer::check_input`](crate::Layer::check_input)
/// where data enters (the trainer, `evaluate`, `predict`), never read out of bounds.
///
/// ```
/// use nn::Input;
/// assert_eq!(<[usize; 3] as Input>::DIMS, &[3]);
/// assert_eq!(<[[f32; 2]; 4] as Input>::DIMS, &[4, 2]);
/// assert_eq!(<[usize; 3] as Input>::blank(), [0, 0, 0]);
/// ```
pub trait Input: Copy + Send + Sync + 'static {
    /// Dimensions, outermost first.
    const DIMS: &'static [usize];
    /// A sample of zeros (token id 0): what buffers are filled with before use.
    fn blank() -> Self;
}

impl<T: Tensor> Input for T {
    const DIMS: &'static [usize] = T::SHAPE;
    fn blank() -> Self {
        T::zeros()
    }
}

impl<const T: usize> Input for [usize; T] {
    const DIMS: &'static [usize] = &[T];
    fn blank() -> Self {
        [0; T]
    }
}

/// Formats a shape as PyTorch users read it: `[28, 28]`.
pub fn shape_to_string(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// A batch of tensors viewed as a batch of flat `[f32; N]` rows, without copying: the memory of
/// `[[f32; W]; H]` is that of `[f32; H * W]`, row-major, as PyTorch's `flatten` reads it.
/// `N` must be the tensor's length (checked at compile time).
///
/// ```
/// let images = [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]];
/// let rows: &[[f32; 4]] = nn_runtime::flatten_batch(&images);
/// assert_eq!(rows, [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]);
/// ```
pub fn flatten_batch<T: Tensor, const N: usize>(batch: &[T]) -> &[[f32; N]] {
    const { assert!(T::LEN == N, "flatten_batch: N must be the tensor's length") };
    let (rows, rest) = T::flat_batch(batch).as_chunks::<N>();
    debug_assert!(rest.is_empty());
    rows
}

/// Grows `buffer` to at least `len` samples (allocating only when it must) and returns the first `len`.
pub fn prefix_mut<T: Input>(buffer: &mut Buffer<T>, len: usize) -> &mut [T] {
    buffer.grow_to(len);
    &mut buffer[..len]
}
