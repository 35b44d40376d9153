//! The `network!` macro of `nn`. Use it through the `nn` crate: `use nn::prelude::*;`.
//!
//! The macro is a pipeline: `ast` parses the declaration into a small model, `check`
//! computes every shape it can and collects every mistake in a `ctxt::Ctxt`, `expand`
//! generates the network, and `fallback` emits a harmless stand-in after an error so one typo
//! gives one error, not a cascade.

mod ast;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod pipeline;
#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Declares a neural network whose shapes the compiler checks.
///
/// ```
/// use nn::prelude::*;
/// network! {
///     /// A classifier for 28x28 digits.
///     pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
/// }
/// assert_eq!(MnistMlp::NUM_PARAMS, 109_386);
/// ```
///
/// See the `nn` crate's documentation for the full syntax and the items generated.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    pipeline::network(input.into()).into()
}
