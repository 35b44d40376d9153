//! Generates the network: a struct with one field per layer, its inherent API, and its
//! `Module` and `Layer` impls, all reaching the runtime through `<crate>::__private`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::ast::{BlockKind, Header, Network};
use crate::check::{BuiltIn, Chain, Construct, Stage};

/// The generated items for a declaration that passed [`crate::check::check`].
pub fn expand(network: &Network, checked: &Chain) -> TokenStream {
    let Header { attrs, krate, vis, .. } = &network.header;
    let inherent = inherent_impl(checked);
    chain_items(krate, vis, quote!(#(#attrs)*), checked, inherent)
}

/// The struct of a chain and its impls, preceded by the structs of the paths of its blocks.
fn chain_items(
    krate: &syn::Path,
    vis: &syn::Visibility,
    attrs: TokenStream,
    checked: &Chain,
    inherent: TokenStream,
) -> TokenStream {
    let name = &checked.name;
    let stages = &checked.stages;
    let blocks = stages
        .iter()
        .filter_map(|stage| stage.block.as_ref().map(|block| (stage, block)));
    let paths = blocks.flat_map(|(stage, block)| {
        block.chains.iter().enumerate().map(move |(i, chain)| {
            let part = match (block.kind, i) {
                (BlockKind::Residual, 0) => "body".to_string(),
                (BlockKind::Residual, _) => "shortcut".to_string(),
                (BlockKind::Concat, i) => format!("branch {i}"),
            };
            let doc = format!(
                " The {part} of `{name}`'s block `{}` (`{}`).",
                stage.field, stage.display
            );
            chain_items(krate, vis, quote!(#[doc = #doc]), chain, TokenStream::new())
        })
    });
    let fields = stages.iter().map(
        |Stage {
             field,
             ty,
             key,
             display,
             ..
         }| {
            let doc = format!(" `{display}`, saved under the key prefix `{key}.`");
            quote!(#[doc = #doc] pub #field: #ty)
        },
    );
    let shape_assertions = shape_assertions(stages);
    let module_impl = module_impl(name, stages);
    let layer_impl = layer_impl(name, checked);
    let shapes_doc = shapes_doc(checked);
    quote! {
        #(#paths)*

        #attrs
        #(#[doc = #shapes_doc])*
        #vis struct #name {
            #(#fields,)*
        }

        const _: () = {
            use #krate::__private as __nn;
            #shape_assertions
            #inherent
            #module_impl
            #layer_impl
        };
    }
}

/// Doc lines showing every layer's output shape and parameters, so an editor's hover explains
/// the network.
fn shapes_doc(checked: &Chain) -> Vec<String> {
    let mut rows = vec![[
        "".to_string(),
        "input".to_string(),
        checked.input_text.clone(),
        String::new(),
    ]];
    for stage in &checked.stages {
        let params = stage.params.map_or("?".to_string(), group_digits);
        rows.push([
            stage.key.clone(),
            stage.display.clone(),
            stage.output_text.clone(),
            params,
        ]);
    }
    let total = checked.stages.iter().map(|stage| stage.params).sum::<Option<u64>>();
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut lines = vec![
        String::new(),
        " # Layers".to_string(),
        String::new(),
        " ```text".to_string(),
    ];
    for row in &rows {
        let line = format!(
            " {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        lines.push(line.trim_end().to_string());
    }
    lines.push(" ```".to_string());
    lines.push(String::new());
    lines.push(match total {
        Some(total) => format!(" {} parameters.", group_digits(total)),
        None => " The parameter count is `Self::NUM_PARAMS` (some sizes are not literals).".to_string(),
    });
    lines
}

/// `109386` as `109,386`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A compile-time check, spanned on the layer as written, that it takes the previous layer's
/// output: where literals could not be compared (named constants, custom layers) this is the
/// error the user sees, worded by `Layer`'s `#[diagnostic::on_unimplemented]`.
fn shape_assertions(stages: &[Stage]) -> TokenStream {
    // A custom layer followed by another layer is already checked by the next check, whose
    // input type is that layer's `Layer<..>::Output`: checking it twice would report it twice.
    // A block's paths check their own input, as chains of their own.
    let last = stages.len() - 1;
    let checks = stages
        .iter()
        .enumerate()
        .filter(|(i, stage)| stage.block.is_none() && (!stage.opaque_output || *i == last))
        .map(|(i, Stage { ty, input_ty, span, .. })| {
            let previous = match i.checked_sub(1) {
                Some(before) => stages[before].ty.clone(),
                None => quote!(__nn::NetworkInput),
            };
            quote_spanned!(*span=> let _ = __takes::<#ty, #previous, #input_ty>;)
        });
    let meets = stages.iter().filter_map(residual_meets);
    quote! {
        const _: () = {
            fn __takes<__L: __nn::Follows<__P, __I>, __P, __I>() {}
            fn __meets<__A: __nn::Meets<__B>, __B>() {}
            #(#checks)*
            #(#meets)*
        };
    }
}

/// Where a custom layer hides the output of a residual block's path, the check that the paths
/// meet in one shape (the macro checks them itself when it knows both shapes).
fn residual_meets(stage: &Stage) -> Option<TokenStream> {
    let block = stage.block.as_ref().filter(|block| block.kind == BlockKind::Residual)?;
    let ends_opaque = |chain: &Chain| chain.stages.last().is_some_and(|stage| stage.opaque_output);
    let body = &block.chains[0];
    let span = stage.span;
    match block.chains.get(1) {
        None if ends_opaque(body) => {
            let (output, input) = (&body.output_ty, &stage.input_ty);
            Some(quote_spanned!(span=> let _ = __meets::<#output, #input>;))
        }
        Some(shortcut) if ends_opaque(body) || ends_opaque(shortcut) => {
            let (output, other) = (&body.output_ty, &shortcut.output_ty);
            Some(quote_spanned!(span=> let _ = __meets::<#output, #other>;))
        }
        _ => None,
    }
}

/// `Layer<input, Output = output>` for every stage, as where-clauses on every item whose code depends on the
/// chain fitting together.
///
/// The bounds are written higher-ranked (`for<'__nn>`) so that rustc does not reject a false
/// one where it is written: a chain that does not fit then makes these items unusable instead
/// of producing an error in each of them, and the only error left is the one
/// [`shape_assertions`] spans on the user's layer.
/// For each stage, whether it is a built-in `ReLU` between two built-in `Linear`s: the Linear
/// before it applies the ReLU as its forward kernel stores each value, and the Linear after it
/// applies the ReLU's mask as its input-gradient kernel stores each value (`nn::FusedRelu`), so
/// the ReLU's own passes are skipped. The bits are the same.
fn fused_relus(stages: &[Stage]) -> Vec<bool> {
    let built_in = |j: usize| stages.get(j).and_then(|stage| stage.built_in);
    (0..stages.len())
        .map(|j| {
            j >= 1
                && built_in(j) == Some(BuiltIn::ReLU)
                && built_in(j - 1) == Some(BuiltIn::Linear)
                && built_in(j + 1) == Some(BuiltIn::Linear)
        })
        .collect()
}

fn chain_bounds(stages: &[Stage]) -> Vec<TokenStream> {
    let fused = fused_relus(stages);
    // The Linears next to a fused ReLU are called through `FusedRelu`, bounded the same way.
    let fused_bounds = stages.iter().enumerate().filter_map(|(i, Stage { ty, input_ty, .. })| {
        let next_to_fused = fused.get(i + 1) == Some(&true) || (i >= 1 && fused[i - 1]);
        next_to_fused.then(|| quote!(for<'__nn> #ty: __nn::FusedRelu<#input_ty>))
    });
    let mut bounds: Vec<TokenStream> = stages
        .iter()
        .map(
            |Stage {
                 ty,
                 input_ty,
                 output_ty,
                 opaque_output,
                 ..
             }| {
                if *opaque_output {
                    quote!(for<'__nn> #ty: __nn::Layer<#input_ty>)
                } else {
                    quote!(for<'__nn> #ty: __nn::Layer<#input_ty, Output = #output_ty>)
                }
            },
        )
        .collect();
    bounds.extend(fused_bounds);
    bounds
}

/// Whether the macro computed every shape of the chain from literals, through built-in layers
/// and blocks of them: the type system then has nothing left to check.
fn fully_checked(chain: &Chain) -> bool {
    chain.input_literal && chain.stages.iter().all(|stage| stage.literal)
}

/// `init`, `forward`, `summary`, `save`, `load` and `NUM_PARAMS` as inherent items, so they
/// work without importing a trait.
fn inherent_impl(checked: &Chain) -> TokenStream {
    let Chain {
        name,
        input_ty,
        output_ty,
        stages,
        ..
    } = checked;
    let bounds = chain_bounds(stages);
    let name_text = name.to_string();
    let any_opaque = stages.iter().any(|stage| stage.opaque_output);
    let rows = stages.iter().map(
        |Stage {
             key,
             display,
             ty,
             output_ty,
             output_dims,
             ..
         }| {
            // A shape the macro computed is written out, so the summary exists even when a
            // custom layer elsewhere does not fit; a custom layer's comes from its type.
            let shape = match output_dims {
                Some(dims) => quote!(&[#(#dims),*]),
                None => quote!(<#output_ty as __nn::Tensor>::SHAPE),
            };
            quote! {
                __nn::SummaryRow {
                    key: #key,
                    layer: #display,
                    output_shape: #shape,
                    params: <#ty as __nn::Module>::NUM_PARAMS,
                }
            }
        },
    );
    let summary = quote! {
        /// A table of the layers: key, type, output shape and parameters.
        pub fn summary(&self) -> __nn::String {
            const ROWS: &[__nn::SummaryRow] = &[#(#rows),*];
            __nn::format_summary(#name_text, <#input_ty as __nn::Input>::DIMS, ROWS)
        }
    };
    let last_opaque = stages.last().is_some_and(|stage| stage.opaque_output);
    let forward = if last_opaque {
        quote! {
            /// The network applied to one sample, without heap allocation.
            pub fn forward(&self, input: &#input_ty) -> #output_ty {
                <Self as __nn::Layer<#input_ty>>::forward(self, input)
            }
        }
    } else {
        // Through `ForwardDispatch`, so that a chain that does not fit is reported once, at
        // the layer, and not again at every call.
        quote! {
            /// The network applied to one sample, without heap allocation.
            pub fn forward(&self, input: &#input_ty) -> #output_ty {
                #[allow(unused_imports)]
                use __nn::{ForwardDoesNotFit as _, ForwardFits as _};
                (&&__nn::ForwardDispatch::<Self, #input_ty, #output_ty>::new(self)).run(input)
            }
        }
    };
    // What needs only the layers to be modules exists whatever the chain: custom layers are
    // bound (a type that is not a module is reported at its place in the chain), built-in ones
    // are modules.
    let module_bounds = stages
        .iter()
        .filter(|stage| stage.opaque_output)
        .map(|Stage { ty, .. }| quote!(for<'__nn> #ty: __nn::Module));
    let (unconditional, bounded) = match (last_opaque, any_opaque) {
        (false, false) => (quote!(#forward #summary), quote!()),
        (false, true) => (forward, summary),
        (true, _) => (quote!(), quote!(#forward #summary)),
    };
    let bounded = if bounded.is_empty() {
        quote!()
    } else {
        quote! {
            impl #name where #(#bounds),* {
                #bounded
            }
        }
    };
    // Written out when the macro counted it, so the documentation shows the number; the
    // assertion keeps the macro's count and the layers' own in agreement.
    let (num_params, agreement) = match stages.iter().map(|stage| stage.params).sum::<Option<u64>>() {
        Some(total) => {
            let total = proc_macro2::Literal::usize_unsuffixed(total as usize);
            (
                quote!(#total),
                quote!(
                    const _: () = ::core::assert!(#name::NUM_PARAMS == <#name as __nn::Module>::NUM_PARAMS);
                ),
            )
        }
        None => (quote!(<Self as __nn::Module>::NUM_PARAMS), quote!()),
    };
    quote! {
        #agreement

        impl #name where #(#module_bounds),* {
            /// Number of trainable parameters.
            pub const NUM_PARAMS: usize = #num_params;

            /// A network initialised as PyTorch initialises each layer by default, from `seed`;
            /// the same seed gives bit-identical weights on every machine.
            pub fn init(seed: u64) -> Self {
                <Self as __nn::Module>::init_with(&mut __nn::Rng::seed(seed))
            }

            #unconditional

            /// Saves the weights to a safetensors file with PyTorch's `state_dict` keys.
            pub fn save(&self, path: impl AsRef<__nn::Path>) -> __nn::Result<()> {
                __nn::io::save(self, path.as_ref())
            }

            /// Loads weights saved by [`Self::save`] or by PyTorch for the same network,
            /// strictly: every key and every shape must match.
            pub fn load(path: impl AsRef<__nn::Path>) -> __nn::Result<Self> {
                __nn::io::load(path.as_ref())
            }

            /// Loads weights into this network as `options` say: strictly, or partially with a
            /// report of what did not fit, optionally renaming the file's keys (fine-tuning).
            pub fn load_from(
                &mut self,
                path: impl AsRef<__nn::Path>,
                options: &__nn::io::LoadOptions,
            ) -> __nn::Result<__nn::io::LoadReport> {
                __nn::io::load_with(self, path.as_ref(), options)
            }
        }

        #bounded
    }
}

fn module_impl(name: &syn::Ident, stages: &[Stage]) -> TokenStream {
    let fields: Vec<_> = stages.iter().map(|stage| &stage.field).collect();
    let types: Vec<_> = stages.iter().map(|stage| &stage.ty).collect();
    // Built-in layers are modules; custom ones (and blocks holding them) are bound, so that one
    // that is not is reported at its place in the chain, not inside this impl.
    let module_bounds: Vec<_> = stages
        .iter()
        .filter(|stage| !stage.literal)
        .map(|stage| &stage.ty)
        .collect();
    let name_text = name.to_string();
    let displays = stages.iter().map(|stage| &stage.display);
    // Layers with constructor arguments (`Dropout(0.5)`) are built by their own constructors.
    let inits = stages.iter().map(|Stage { ty, construct, .. }| match construct {
        Construct::Seeded(args) => quote!(<#ty>::init_with(__rng, #args)),
        Construct::Call(call) => quote!(<#ty>::#call),
        Construct::Module => quote!(__nn::Module::init_with(__rng)),
    });
    let zeros = stages.iter().map(|Stage { ty, construct, .. }| match construct {
        Construct::Seeded(args) => quote!(<#ty>::new(#args)),
        Construct::Call(call) => quote!(<#ty>::#call),
        Construct::Module => quote!(__nn::Module::zeros()),
    });
    let prefixes = stages.iter().map(|stage| format!("{}.", stage.key));
    let visits = stages.iter().zip(prefixes).map(|(Stage { field, .. }, prefix)| {
        quote! {
            __nn::Module::visit_params(&self.#field, &__nn::String::from_iter([__prefix, #prefix]), __visit);
        }
    });
    let prefixes = stages.iter().map(|stage| format!("{}.", stage.key));
    let visits_mut = stages.iter().zip(prefixes).map(|(Stage { field, .. }, prefix)| {
        quote! {
            __nn::Module::visit_params_mut(&mut self.#field, &__nn::String::from_iter([__prefix, #prefix]), __visit);
        }
    });
    let prefixes = stages.iter().map(|stage| format!("{}.", stage.key));
    let counters = stages.iter().zip(prefixes).map(|(Stage { field, .. }, prefix)| {
        quote! {
            __nn::Module::visit_counters(&self.#field, &__nn::String::from_iter([__prefix, #prefix]), __visit);
        }
    });
    let prefixes = stages.iter().map(|stage| format!("{}.", stage.key));
    let counters_mut = stages.iter().zip(prefixes).map(|(Stage { field, .. }, prefix)| {
        quote! {
            __nn::Module::visit_counters_mut(&mut self.#field, &__nn::String::from_iter([__prefix, #prefix]), __visit);
        }
    });
    quote! {
        impl ::core::clone::Clone for #name where #(for<'__nn> #module_bounds: ::core::clone::Clone),* {
            fn clone(&self) -> Self {
                Self { #(#fields: ::core::clone::Clone::clone(&self.#fields),)* }
            }
        }

        /// Names each layer and its type, not the values of its weights.
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, __f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                __f.debug_struct(#name_text)
                    #(.field(::core::stringify!(#fields), &::core::format_args!("{}", #displays)))*
                    .finish()
            }
        }

        impl __nn::Module for #name where #(for<'__nn> #module_bounds: __nn::Module),* {
            const NUM_PARAMS: usize = 0 #(+ <#types as __nn::Module>::NUM_PARAMS)*;

            fn init_with(__rng: &mut __nn::Rng) -> Self {
                Self { #(#fields: #inits,)* }
            }

            fn zeros() -> Self {
                Self { #(#fields: #zeros,)* }
            }

            fn visit_params(&self, __prefix: &str, __visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
                #(#visits)*
            }

            fn visit_params_mut(&mut self, __prefix: &str, __visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
                #(#visits_mut)*
            }

            fn visit_counters(&self, __prefix: &str, __visit: &mut dyn FnMut(&str, i64)) {
                #(#counters)*
            }

            fn visit_counters_mut(&mut self, __prefix: &str, __visit: &mut dyn FnMut(&str, &mut i64)) {
                #(#counters_mut)*
            }

            fn zip_params(&mut self, __grads: &Self, __update: &mut dyn FnMut(&mut [f32], &[f32])) {
                #(__nn::Module::zip_params(&mut self.#fields, &__grads.#fields, __update);)*
            }

            fn set_frozen(&mut self, __frozen: bool) {
                #(__nn::Module::set_frozen(&mut self.#fields, __frozen);)*
            }
        }
    }
}

/// The `Layer` impl: single-sample forward, batched forward keeping every activation in the
/// cache, and the backward pass through the chain in reverse.
fn layer_impl(name: &syn::Ident, checked: &Chain) -> TokenStream {
    let Chain {
        input_ty,
        output_ty,
        stages,
        ..
    } = checked;
    let count = stages.len();
    // activation i (1..count) is the output of stage i-1; activation 0 is the input and
    // activation `count` the output, both owned by the caller.
    let activation = |i: usize| format_ident!("__act_{}", i);
    let gradient = |i: usize| format_ident!("__grad_{}", i);
    let cache = |i: usize| format_ident!("__cache_{}", i);

    // Activation i (between two layers) is a view of activation i - 1 when stage i - 1 is the
    // built-in `Flatten`: the batched passes reinterpret the memory instead of copying it.
    let viewed = |i: usize| i >= 1 && i < count && stages[i - 1].reshape;
    // Activation i as a `&[T]` in the backward pass, where the forward left it.
    fn saved(i: usize, count: usize, stages: &[Stage]) -> TokenStream {
        if i == 0 {
            quote!(__input)
        } else if i == count {
            quote!(__output)
        } else if stages[i - 1].reshape {
            let flat = saved(i - 1, count, stages);
            quote!(__nn::flatten_batch(#flat))
        } else {
            let a = format_ident!("__act_{}", i);
            quote!(&__cache.#a[..__batch])
        }
    }

    let fused = fused_relus(stages);
    let fused_relu = |j: usize| fused.get(j) == Some(&true);

    let mut cache_fields = Vec::new();
    for (i, stage) in stages.iter().enumerate().skip(1) {
        let (act, grad, ty) = (activation(i), gradient(i), &stage.input_ty);
        // A fused ReLU's input (the Linear's output before the ReLU) and output gradient are
        // never written.
        if !viewed(i) && !fused_relu(i) {
            cache_fields.push(quote!(#act: __nn::Buffer<#ty>));
        }
        if !fused_relu(i - 1) {
            cache_fields.push(quote!(#grad: __nn::Buffer<#ty>));
        }
    }
    for (i, Stage { ty, input_ty, .. }) in stages.iter().enumerate() {
        let field = cache(i);
        cache_fields.push(quote!(#field: <#ty as __nn::Layer<#input_ty>>::Cache));
    }

    let single = stages.iter().enumerate().map(|(i, Stage { field, input_ty, .. })| {
        let input = if i == 0 {
            quote!(__input)
        } else {
            let x = format_ident!("__x{}", i);
            quote!(&#x)
        };
        let output = format_ident!("__x{}", i + 1);
        quote!(let #output = __nn::Layer::<#input_ty>::forward(&self.#field, #input);)
    });
    let last_single = format_ident!("__x{}", count);

    let batched = stages.iter().enumerate().map(
        |(
            i,
            Stage {
                field,
                input_ty,
                output_ty,
                ..
            },
        )| {
            let input = if i == 0 {
                quote!(__input)
            } else {
                let a = activation(i);
                if viewed(i) {
                    quote!(#a)
                } else {
                    quote!(&*#a)
                }
            };
            if viewed(i + 1) {
                let a = activation(i + 1);
                return quote!(let #a: &[#output_ty] = __nn::flatten_batch(#input););
            }
            if fused_relu(i) {
                // Done by the Linear before it.
                return quote!();
            }
            if fused_relu(i + 1) {
                // The ReLU's output, written by this Linear's kernel.
                let a = activation(i + 2);
                return quote! {
                    let #a = __nn::prefix_mut(&mut __cache.#a, __batch);
                    __nn::FusedRelu::<#input_ty>::forward_batch_relu(&self.#field, #input, &mut *#a);
                };
            }
            let (setup, output) = if i + 1 == count {
                (quote!(), quote!(__output))
            } else {
                let a = activation(i + 1);
                (
                    quote!(let #a = __nn::prefix_mut(&mut __cache.#a, __batch);),
                    quote!(&mut *#a),
                )
            };
            let c = cache(i);
            quote! {
                #setup
                __nn::Layer::<#input_ty>::forward_batch(&self.#field, #input, #output, &mut __cache.#c, __mode);
            }
        },
    );

    let backward = stages
        .iter()
        .enumerate()
        .rev()
        .map(|(i, Stage { field, input_ty, .. })| {
            let input = saved(i, count, stages);
            let output = saved(i + 1, count, stages);
            let grad_output = if i + 1 == count {
                quote!(__grad_output)
            } else {
                let g = gradient(i + 1);
                quote!(&__cache.#g[..__batch])
            };
            let c = cache(i);
            let own_params = &stages[i].ty;
            if fused_relu(i) {
                // Done by the Linear after it.
                return quote!();
            }
            // A Linear next to a fused ReLU: its backward needs no output, and after one it
            // writes the ReLU's input gradient (gradient `i - 1`), masked.
            let after_relu = i >= 1 && fused_relu(i - 1);
            let fused = after_relu || fused_relu(i + 1);
            let call = |grad_in: TokenStream| {
                if fused {
                    quote!(__nn::FusedRelu::<#input_ty>::backward_batch_fused(
                        &self.#field, #input, #grad_output, #grad_in, #after_relu, &mut __grads.#field,
                    ))
                } else {
                    quote!(__nn::Layer::<#input_ty>::backward_batch(
                        &self.#field, #input, #output, #grad_output, #grad_in, &mut __cache.#c, &mut __grads.#field,
                    ))
                }
            };
            if i == 0 {
                let call = call(quote!(__grad_input));
                return quote! {
                    if <#own_params as __nn::Module>::NUM_PARAMS > 0 || __wants_input_grad {
                        #call;
                    }
                };
            }
            // The input gradient is needed only if a layer before this one has parameters, or
            // the caller asked for the network's input gradient: a network starting with
            // `Flatten -> Linear<784, ..>` skips the largest product of its backward pass.
            let earlier = stages[..i].iter().map(|stage| &stage.ty);
            let g = if after_relu { gradient(i - 1) } else { gradient(i) };
            let call = call(quote!(__grad_in));
            quote! {
                let __needs_input_grad = __wants_input_grad #(|| <#earlier as __nn::Module>::NUM_PARAMS > 0)*;
                if <#own_params as __nn::Module>::NUM_PARAMS > 0 || __needs_input_grad {
                    let __grad_in = if __needs_input_grad {
                        __nn::Option::Some(__nn::prefix_mut(&mut __cache.#g, __batch))
                    } else {
                        __nn::Option::None
                    };
                    #call;
                }
            }
        });

    let statistics = stages.iter().enumerate().map(|(i, Stage { field, input_ty, .. })| {
        let c = cache(i);
        quote!(__nn::Layer::<#input_ty>::update_statistics(&mut self.#field, &__cache.#c);)
    });
    let check_input = stages.first().map(|Stage { field, input_ty, .. }| {
        quote! {
            fn check_input(&self, __input: &#input_ty, __sample: usize) -> __nn::Result<()> {
                __nn::Layer::<#input_ty>::check_input(&self.#field, __input, __sample)
            }
        }
    });
    let cache_name = format_ident!("__{}Cache", name);
    // A chain the macro checked completely needs no bounds (and its documentation shows none).
    let bounds = if fully_checked(checked) {
        Vec::new()
    } else {
        chain_bounds(stages)
    };
    quote! {
        /// Activations and gradients between layers, kept from the forward to the backward pass.
        #[derive(Default)]
        pub struct #cache_name where #(#bounds),* {
            #(#cache_fields,)*
        }

        impl __nn::Layer<#input_ty> for #name where #(#bounds),* {
            type Output = #output_ty;
            type Cache = #cache_name;

            fn forward(&self, __input: &#input_ty) -> #output_ty {
                #(#single)*
                #last_single
            }

            fn forward_batch(
                &self,
                __input: &[#input_ty],
                __output: &mut [#output_ty],
                __cache: &mut Self::Cache,
                __mode: __nn::Mode,
            ) {
                let __batch = __input.len();
                #(#batched)*
            }

            fn backward_batch(
                &self,
                __input: &[#input_ty],
                __output: &[#output_ty],
                __grad_output: &[#output_ty],
                __grad_input: __nn::Option<&mut [#input_ty]>,
                __cache: &mut Self::Cache,
                __grads: &mut Self,
            ) {
                let __batch = __input.len();
                let __wants_input_grad = __grad_input.is_some();
                #(#backward)*
            }

            fn update_statistics(&mut self, __cache: &Self::Cache) {
                #(#statistics)*
            }

            #check_input
        }
    }
}
