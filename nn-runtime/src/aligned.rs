//! Heap memory that starts at a cache line: [`AlignedBox`] for parameters, [`Buffer`] for the
//! batches a layer keeps between passes.
//!
//! The kernels read rows of 16 floats (64 bytes) at a time. The system allocator places a large
//! block 16 bytes past a page boundary, so every such read of a weight or an activation
//! straddles two cache lines and costs two; whether a block lands there or elsewhere depends on
//! what the process freed before, so the same program ran at two speeds. Memory at a 64-byte
//! boundary makes every aligned row one line, every run.

use std::alloc::{alloc, alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::Input;

/// The alignment of every [`AlignedBox`] and [`Buffer`]: one cache line.
pub const ALIGN: usize = 64;

/// The layout of `len` values of `T` starting at a cache line, or `None` for no bytes.
fn layout<T>(len: usize) -> Option<Layout> {
    let size = size_of::<T>()
        .checked_mul(len)
        .expect("a buffer's size overflows `usize`");
    (size > 0).then(|| Layout::from_size_align(size, ALIGN.max(align_of::<T>())).expect("a buffer's size overflows"))
}

/// Allocates `layout`, zeroed or not; aborts as `Box` does when the allocator fails.
fn allocate<T>(layout: Option<Layout>, zeroed: bool) -> NonNull<T> {
    let Some(layout) = layout else {
        return NonNull::dangling();
    };
    #[allow(unsafe_code)]
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe {
        if zeroed {
            alloc_zeroed(layout)
        } else {
            alloc(layout)
        }
    };
    NonNull::new(ptr.cast()).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Arrays of `f32` (rank 1 to 4), for which all-zero bytes are zeros: what an [`AlignedBox`]
/// can hold.
pub trait Floats: sealed::Sealed + Copy + Send + Sync + 'static {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! floats {
    ($([$($dim:ident),+] $array:ty),+ $(,)?) => {$(
        impl<$(const $dim: usize),+> sealed::Sealed for $array {}
        impl<$(const $dim: usize),+> Floats for $array {}
    )+};
}

floats!(
    [A] [f32; A],
    [A, B] [[f32; B]; A],
    [A, B, C] [[[f32; C]; B]; A],
    [A, B, C, D] [[[[f32; D]; C]; B]; A],
);

/// An array of `f32` on the heap, starting at a cache line (64 bytes): the type of the
/// parameters of the built-in layers (`Linear::weight`, ...).
///
/// It reads and writes as the array it holds (it dereferences to it) and, unlike a `Box` of
/// it, is built zeroed on the heap without passing through the stack, and is placed so that
/// the kernels' 64-byte reads of a row never straddle two cache lines.
///
/// ```
/// use nn::AlignedBox;
/// let mut weight = AlignedBox::<[[f32; 3]; 2]>::zeros();
/// weight[1][2] = 5.0;
/// assert_eq!(*weight, [[0.0, 0.0, 0.0], [0.0, 0.0, 5.0]]);
/// assert_eq!(weight.as_ptr() as usize % 64, 0);
/// *weight = [[1.0; 3]; 2];
/// assert_eq!(weight, AlignedBox::new([[1.0; 3]; 2]));
/// ```
pub struct AlignedBox<T: Floats> {
    ptr: NonNull<T>,
    owns: PhantomData<T>,
}

impl<T: Floats> AlignedBox<T> {
    /// The array filled with zeros, built directly on the heap.
    pub fn zeros() -> Self {
        AlignedBox {
            ptr: allocate(layout::<T>(1), true),
            owns: PhantomData,
        }
    }

    /// The array `value`, moved to the heap.
    pub fn new(value: T) -> Self {
        let mut boxed = Self::zeros();
        *boxed = value;
        boxed
    }

    /// The address of the first value.
    pub fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }
}

impl<T: Floats> Deref for AlignedBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        #[allow(unsafe_code)]
        // SAFETY: `ptr` points to an initialised `T` this box owns (or is dangling, aligned, for
        // a zero-sized `T`).
        unsafe {
            self.ptr.as_ref()
        }
    }
}

impl<T: Floats> DerefMut for AlignedBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        #[allow(unsafe_code)]
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe {
            self.ptr.as_mut()
        }
    }
}

impl<T: Floats> Drop for AlignedBox<T> {
    fn drop(&mut self) {
        if let Some(layout) = layout::<T>(1) {
            #[allow(unsafe_code)]
            // SAFETY: allocated by `allocate` with this layout.
            unsafe {
                dealloc(self.ptr.as_ptr().cast(), layout);
            }
        }
    }
}

impl<T: Floats> Clone for AlignedBox<T> {
    fn clone(&self) -> Self {
        let mut copy = Self::zeros();
        copy.copy_from(self);
        copy
    }
}

impl<T: Floats> AlignedBox<T> {
    /// Overwrites the values with `other`'s without building a copy on the stack.
    fn copy_from(&mut self, other: &Self) {
        #[allow(unsafe_code)]
        // SAFETY: two distinct boxes (`&mut self`), each one `T`.
        unsafe {
            std::ptr::copy_nonoverlapping(other.ptr.as_ptr(), self.ptr.as_ptr(), 1);
        }
    }
}

impl<T: Floats> Default for AlignedBox<T> {
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Floats + fmt::Debug> fmt::Debug for AlignedBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Floats + PartialEq> PartialEq for AlignedBox<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

#[allow(unsafe_code)]
// SAFETY: the box owns its `T` as a `Box<T>` would.
unsafe impl<T: Floats> Send for AlignedBox<T> {}
#[allow(unsafe_code)]
// SAFETY: as above; `&AlignedBox<T>` gives only `&T`.
unsafe impl<T: Floats> Sync for AlignedBox<T> {}

/// A growable batch of samples starting at a cache line: the activations and gradients a
/// layer keeps between its forward and backward passes. Grown by
/// [`prefix_mut`](crate::prefix_mut), never shrunk; reads as a slice of every sample it holds.
#[doc(hidden)]
pub struct Buffer<T> {
    ptr: NonNull<T>,
    len: usize,
    owns: PhantomData<T>,
}

impl<T> Buffer<T> {
    /// An empty buffer; allocates nothing.
    pub const fn new() -> Self {
        Buffer {
            ptr: NonNull::dangling(),
            len: 0,
            owns: PhantomData,
        }
    }

    /// Frees the block (the buffer must be emptied or dropped right after).
    #[allow(unsafe_code)]
    unsafe fn free(&mut self) {
        if let Some(layout) = layout::<T>(self.len) {
            // SAFETY: allocated by `allocate` with this layout.
            unsafe { dealloc(self.ptr.as_ptr().cast(), layout) };
        }
    }
}

impl<T: Input> Buffer<T> {
    /// Grows the buffer to `len` samples, keeping those it holds and filling the rest with
    /// [`Input::blank`]; nothing when it already holds that many.
    pub fn grow_to(&mut self, len: usize) {
        if len <= self.len {
            return;
        }
        let ptr: NonNull<T> = allocate(layout::<T>(len), false);
        #[allow(unsafe_code)]
        // SAFETY: the new block holds `len > self.len` samples; the old one `self.len`
        // initialised ones, copied before it is freed.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), ptr.as_ptr(), self.len);
            for index in self.len..len {
                ptr.as_ptr().add(index).write(T::blank());
            }
            self.free();
        }
        (self.ptr, self.len) = (ptr, len);
    }
}

impl<T> Default for Buffer<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        #[allow(unsafe_code)]
        // SAFETY: `len` initialised samples (or an empty slice at an aligned dangling pointer).
        unsafe {
            std::slice::from_raw_parts(self.ptr.as_ptr(), self.len)
        }
    }
}

impl<T> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        #[allow(unsafe_code)]
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len)
        }
    }
}

impl<T> Drop for Buffer<T> {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: dropped right after.
        unsafe {
            self.free();
        }
    }
}

impl<T: Input> Clone for Buffer<T> {
    fn clone(&self) -> Self {
        let mut copy = Self::new();
        copy.grow_to(self.len);
        copy.copy_from_slice(self);
        copy
    }
}

impl<T: fmt::Debug> fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[allow(unsafe_code)]
// SAFETY: the buffer owns its samples as a `Vec<T>` would.
unsafe impl<T: Send> Send for Buffer<T> {}
#[allow(unsafe_code)]
// SAFETY: as above; `&Buffer<T>` gives only `&[T]`.
unsafe impl<T: Sync> Sync for Buffer<T> {}

#[cfg(test)]
mod tests {
    use super::{AlignedBox, Buffer, ALIGN};

    #[test]
    fn boxes_start_at_a_cache_line_and_hold_zeros() {
        let weight = AlignedBox::<[[f32; 784]; 128]>::zeros();
        assert_eq!(weight.as_ptr() as usize % ALIGN, 0);
        assert!(weight.iter().flatten().all(|&value| value == 0.0));
        let copy = weight.clone();
        assert_eq!(copy.as_ptr() as usize % ALIGN, 0);
        assert_eq!(copy, weight);
        let mut empty = AlignedBox::<[f32; 0]>::zeros();
        assert_eq!(*empty.clone(), [0.0f32; 0]);
        *empty = [];
    }

    #[test]
    fn buffers_grow_keeping_their_samples_at_a_cache_line() {
        let mut buffer = Buffer::<[f32; 3]>::new();
        assert!(buffer.is_empty());
        buffer.grow_to(2);
        buffer[1] = [1.0, 2.0, 3.0];
        buffer.grow_to(1000);
        assert_eq!(buffer.len(), 1000);
        assert_eq!(buffer.as_ptr() as usize % ALIGN, 0);
        assert_eq!(buffer[..3], [[0.0; 3], [1.0, 2.0, 3.0], [0.0; 3]]);
        buffer.grow_to(10);
        assert_eq!(buffer.len(), 1000);
        assert_eq!(buffer.clone()[1], [1.0, 2.0, 3.0]);
        let tokens = {
            let mut tokens = Buffer::<[usize; 2]>::new();
            tokens.grow_to(3);
            tokens
        };
        assert_eq!(&*tokens, &[[0, 0]; 3]);
    }

    /// Random sequences of growing, writing and cloning agree with a `Vec` doing the same.
    #[test]
    fn buffers_behave_as_a_vector_that_only_grows() {
        let mut rng = crate::Rng::seed(7);
        for _ in 0..200 {
            let (mut buffer, mut model) = (Buffer::<[f32; 5]>::new(), Vec::<[f32; 5]>::new());
            for _ in 0..20 {
                let len = rng.below(300);
                buffer.grow_to(len);
                if model.len() < len {
                    model.resize(len, [0.0; 5]);
                }
                if !model.is_empty() {
                    let index = rng.below(model.len());
                    let value = [rng.unit(); 5];
                    (buffer[index], model[index]) = (value, value);
                }
                if rng.below(4) == 0 {
                    buffer = buffer.clone();
                }
                assert_eq!(&*buffer, &model[..]);
                assert!(buffer.is_empty() || (buffer.as_ptr() as usize).is_multiple_of(ALIGN));
            }
        }
    }
}
