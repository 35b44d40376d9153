//! The `network!` macro and `#[derive(Module)]` of `nn`. Use them through the `nn` crate:
//! `use nn::prelude::*;`.
//!
//! The macro is a pipeline: `ast` parses the declaration into a small model, `check`
//! computes every shape it can and collects every mistake in a `ctxt::Ctxt`, `expand`
//! generates the network, and `fallback` emits a harmless stand-in after an error so one typo
//! gives one error, not a cascade. `derive_module` is the derive, in one file of its own.

mod ast;
mod check;
mod ctxt;
mod derive_module;
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

/// Implements `nn::Module` for a struct from its fields: the parameter walk (`init`, `zeros`,
/// `visit_params`, `visit_params_mut`, `zip_params`, ...) is written once, here, instead of by hand
/// in every layer. A field is, by its attribute:
///
/// - `#[param]`: a trainable f32 tensor, `[f32; N]`, `[[f32; N]; M]`, `[[[f32; N]; M]; K]` or a
///   `Box` of one, saved under the field's name (`weight`, `bias`). Zero at `init` unless given
///   a rule: `#[param(init = 1.0)]` (a constant), `#[param(init = uniform(-0.1, 0.1))]`,
///   `#[param(init = uniform_fan_in(IN))]` (uniform in `±1/sqrt(IN)`, PyTorch's default for
///   `nn.Linear(IN, ..)`) or a closure of the generator `rng: &mut nn::Rng`,
///   `#[param(init = |rng| rng.uniform(0.0, 1.0).sqrt())]`; values are drawn in field order,
///   row-major.
/// - `#[buffer]`: an f32 tensor saved and loaded but not trained (a running mean); takes `init`
///   as `#[param]` does.
/// - `#[module]`: a sub-module (any `nn::Module`), its keys prefixed with `field.`.
/// - `#[frozen]`: a `bool` that `set_frozen` sets; while it is `true` the optimizers skip the
///   params (a layer's backward may check it to skip computing their gradient).
/// - no attribute: configuration, `Default::default()` in `init` and `zeros`, cloned with the layer.
///
/// `NUM_PARAMS` counts the params and the sub-modules' params, not the buffers. The struct also
/// needs `Clone` (derive it), and a `nn::Layer` impl for the forward and backward passes.
/// `#[nn(crate = path)]` on the struct names the `nn` crate when it is not `::nn`.
///
/// ```
/// use nn::prelude::*;
///
/// /// `y = x * weight + bias`, per feature.
/// #[derive(Clone, Module)]
/// struct Scale<const N: usize> {
///     #[param(init = 1.0)]
///     weight: [f32; N],
///     #[param(init = uniform(-0.1, 0.1))]
///     bias: [f32; N],
/// }
///
/// let scale = Scale::<3>::init_with(&mut nn::Rng::seed(0));
/// assert_eq!(scale.weight, [1.0; 3]);
/// assert!(scale.bias.iter().all(|b| (-0.1..0.1).contains(b)));
/// assert_eq!(Scale::<3>::NUM_PARAMS, 6);
/// let mut keys = Vec::new();
/// scale.visit_params("scale.", &mut |key, shape, _| keys.push(format!("{key} {shape:?}")));
/// assert_eq!(keys, ["scale.weight [3]", "scale.bias [3]"]);
/// ```
#[proc_macro_derive(Module, attributes(param, buffer, module, frozen, nn))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    derive_module::derive(input.into()).into()
}
