//! [`ParamTensor`]: the f32 tensors a `#[derive(Module)]` layer may hold as `#[param]` or
//! `#[buffer]`, seen as a shape and one flat slice. Not a public API: generated code reaches it
//! through `nn::__private`.

use crate::{AlignedBox, Tensor};

/// An f32 tensor field of a derived module: an array of rank 1 to 3, or a `Box` or an
/// [`AlignedBox`] of one (which keep a large weight off the stack; the built-in layers use
/// `AlignedBox`, whose rows the kernels read faster).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[param]` or `#[buffer]` tensor",
    label = "not an f32 array",
    note = "a tensor field is `[f32; N]`, `[[f32; N]; M]`, `[[[f32; N]; M]; K]`, or a `Box` or `nn::AlignedBox` of one of them",
    note = "a field holding a layer is marked `#[module]`; a field without attribute is configuration"
)]
pub trait ParamTensor: Send + Sync + 'static {
    /// Number of `f32` values.
    const LEN: usize;
    /// Dimensions, outermost first, as PyTorch writes them.
    const SHAPE: &'static [usize];
    /// The tensor filled with zeros, built on the heap when boxed.
    fn zeros() -> Self;
    /// The values, row-major.
    fn flat(&self) -> &[f32];
    /// The values, row-major, mutable.
    fn flat_mut(&mut self) -> &mut [f32];
}

/// Implements [`ParamTensor`] for an array type, for its `Box` and for its [`AlignedBox`],
/// delegating to [`Tensor`].
macro_rules! param_tensor {
    ([$(const $dim:ident),+] $array:ty) => {
        impl<$(const $dim: usize),+> ParamTensor for $array {
            const LEN: usize = <$array as Tensor>::LEN;
            const SHAPE: &'static [usize] = <$array as Tensor>::SHAPE;
            fn zeros() -> Self {
                Tensor::zeros()
            }
            fn flat(&self) -> &[f32] {
                Tensor::flat(self)
            }
            fn flat_mut(&mut self) -> &mut [f32] {
                Tensor::flat_mut(self)
            }
        }

        impl<$(const $dim: usize),+> ParamTensor for Box<$array> {
            const LEN: usize = <$array as Tensor>::LEN;
            const SHAPE: &'static [usize] = <$array as Tensor>::SHAPE;
            fn zeros() -> Self {
                boxed_rows()
            }
            fn flat(&self) -> &[f32] {
                Tensor::flat(&**self)
            }
            fn flat_mut(&mut self) -> &mut [f32] {
                Tensor::flat_mut(&mut **self)
            }
        }

        impl<$(const $dim: usize),+> ParamTensor for AlignedBox<$array> {
            const LEN: usize = <$array as Tensor>::LEN;
            const SHAPE: &'static [usize] = <$array as Tensor>::SHAPE;
            fn zeros() -> Self {
                AlignedBox::zeros()
            }
            fn flat(&self) -> &[f32] {
                Tensor::flat(&**self)
            }
            fn flat_mut(&mut self) -> &mut [f32] {
                Tensor::flat_mut(&mut **self)
            }
        }
    };
}

/// A boxed array of `N` rows built from a vector, so that a large array never sits on the stack.
fn boxed_rows<T: Copy + ParamZero, const N: usize>() -> Box<[T; N]> {
    match vec![T::ZERO; N].into_boxed_slice().try_into() {
        Ok(array) => array,
        Err(_) => unreachable!("a vector of N rows converts to an array of N rows"),
    }
}

/// The zero of a row of [`boxed_rows`].
trait ParamZero {
    const ZERO: Self;
}

impl ParamZero for f32 {
    const ZERO: Self = 0.0;
}

impl<T: ParamZero + Copy, const N: usize> ParamZero for [T; N] {
    const ZERO: Self = [T::ZERO; N];
}

param_tensor!([const N] [f32; N]);
param_tensor!([const M, const N] [[f32; N]; M]);
param_tensor!([const K, const M, const N] [[[f32; N]; M]; K]);

#[cfg(test)]
mod tests {
    use super::ParamTensor;

    #[test]
    fn shapes_and_lengths_of_arrays_and_boxes() {
        assert_eq!(<[[f32; 3]; 2] as ParamTensor>::SHAPE, &[2, 3]);
        assert_eq!(<Box<[[[f32; 4]; 3]; 2]> as ParamTensor>::LEN, 24);
        let mut weight = <Box<[f32; 5]> as ParamTensor>::zeros();
        weight.flat_mut()[4] = 1.0;
        assert_eq!(weight.flat(), &[0.0, 0.0, 0.0, 0.0, 1.0]);
    }
}
