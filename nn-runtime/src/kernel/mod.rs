//! Numeric kernels on flat row-major slices, kept apart from the layers that call them.

mod gemm;

pub use gemm::{matmul, Transpose};
