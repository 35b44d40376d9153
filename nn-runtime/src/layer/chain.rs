//! How generated networks check that each layer takes what the one before it gives, in words
//! that name both layers.

use super::Layer;
use crate::Input;

/// `Self` can come right after `Previous` in a chain, taking its output `I`.
///
/// Implemented for every layer that takes `I`; generated code requires it of each layer, so a
/// mismatch the macro could not see (a named `const`, a custom layer) is reported as
/// "`Linear<100, 10>` cannot follow `ReLU`: `ReLU` gives `[f32; 128]`, which `Linear<100, 10>`
/// does not take".
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot follow `{Previous}`: `{Previous}` gives `{I}`, which `{Self}` does not take",
    label = "does not take `{I}`",
    note = "each layer's input must be exactly the previous layer's output; check the sizes in the chain",
    note = "a layer of your own implements `nn::Layer<{I}>` and `nn::Module` (which needs `Clone`)"
)]
pub trait Follows<Previous, I> {}

impl<L: Layer<I>, Previous, I: Input> Follows<Previous, I> for L {}

/// Stands for a network's input in [`Follows`] when the first layer is checked.
#[derive(Debug, Clone, Copy)]
pub struct NetworkInput;

/// The two paths of a residual block meet in one shape: `Self`, what the body gives, is
/// `Other`, the block's input (or what its shortcut gives). Generated code requires it where a
/// custom layer hides a path's output from the macro.
#[diagnostic::on_unimplemented(
    message = "the paths of a `Residual` block must meet in one shape, but its body gives `{Self}` and the block adds it to `{Other}`",
    label = "the body gives `{Self}`, not `{Other}`",
    note = "without a shortcut a residual body must give the shape it takes; with one, the shape the shortcut gives"
)]
pub trait Meets<Other> {}

impl<T> Meets<T> for T {}
