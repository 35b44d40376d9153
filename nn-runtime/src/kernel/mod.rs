//! Numeric kernels, kept apart from the layers that call them.

mod dense;

pub use dense::{linear_backward_input, linear_backward_weight, linear_forward};
