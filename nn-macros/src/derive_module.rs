//! `#[derive(Module)]`: one walk over a struct's fields, from which every method of `Module` is
//! printed. `parse` reads the struct into a list of [`Field`]s of a [`Kind`] each, collecting
//! every mistake; `expand` prints the impl; after an error, `fallback` prints a stand-in impl so
//! that code using the layer adds no "`Module` is not implemented" errors to the real one.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Expr, Fields, Ident, Meta, Path, Type};

use crate::ctxt::Ctxt;

/// What a field is to the module, from its attribute.
enum Kind {
    /// `#[param]`: a trainable f32 tensor, with its `init` rule (zeros without one).
    Param(Option<Expr>),
    /// `#[buffer]`: an f32 tensor saved and loaded but not trained (a running mean).
    Buffer(Option<Expr>),
    /// `#[module]`: a sub-module, its keys prefixed with the field name and a dot.
    Module,
    /// `#[frozen]`: the `bool` that `set_frozen` sets; `zip_params` skips the params while set.
    Frozen,
    /// No attribute: configuration, cloned, `Default::default()` in `init` and `zeros`.
    Config,
}

/// One named field of the struct.
struct Field<'a> {
    name: &'a Ident,
    ty: &'a Type,
    kind: Kind,
}

/// Expands `#[derive(Module)]` on `input`.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::default();
    let krate = crate_path(&mut cx, &input.attrs);
    let fields = parse_fields(&mut cx, &input);
    match cx.finish(fields) {
        Ok(fields) => expand(&input, &krate, &fields),
        Err(errors) => fallback(&input, &krate, errors),
    }
}

/// `#[nn(crate = path)]` on the struct, else `::nn` (read as `network!` reads it).
fn crate_path(cx: &mut Ctxt, attrs: &[Attribute]) -> Path {
    let mut attrs = attrs.to_vec();
    crate::ast::take_crate_path(&mut attrs).unwrap_or_else(|error| {
        cx.error_at(error.span(), error);
        syn::parse_quote!(::nn)
    })
}

/// The named fields and their kinds; a unit struct has none.
fn parse_fields<'a>(cx: &mut Ctxt, input: &'a DeriveInput) -> Vec<Field<'a>> {
    let fields = match &input.data {
        Data::Struct(data) => &data.fields,
        Data::Enum(data) => {
            cx.error_spanned_by(
                data.enum_token,
                "`#[derive(Module)]` needs a struct with named fields, not an enum\n= help: implement `nn::Module` by hand, or hold each variant's layers in a struct",
            );
            return Vec::new();
        }
        Data::Union(data) => {
            cx.error_spanned_by(
                data.union_token,
                "`#[derive(Module)]` needs a struct with named fields, not a union",
            );
            return Vec::new();
        }
    };
    match fields {
        Fields::Named(named) => named
            .named
            .iter()
            .map(|field| Field {
                name: field.ident.as_ref().expect("named fields have names"),
                ty: &field.ty,
                kind: field_kind(cx, &field.attrs),
            })
            .collect(),
        Fields::Unnamed(unnamed) if !unnamed.unnamed.is_empty() => {
            cx.error_spanned_by(
                unnamed,
                "`#[derive(Module)]` needs named fields: a field's name is its key in the saved file\n= help: write `struct Name { weight: [f32; N], .. }`, keys `weight`, ..",
            );
            Vec::new()
        }
        Fields::Unnamed(_) | Fields::Unit => Vec::new(),
    }
}

/// The kind a field's attributes give it, with an error for two kinds or an unknown option.
fn field_kind(cx: &mut Ctxt, attrs: &[Attribute]) -> Kind {
    let mut kind = Kind::Config;
    let mut seen = false;
    for attr in attrs {
        let next = if attr.path().is_ident("param") {
            Kind::Param(init_rule(cx, attr, "param"))
        } else if attr.path().is_ident("buffer") {
            Kind::Buffer(init_rule(cx, attr, "buffer"))
        } else if attr.path().is_ident("module") || attr.path().is_ident("frozen") {
            if !matches!(attr.meta, Meta::Path(_)) {
                cx.error_spanned_by(&attr.meta, "this attribute takes no options");
            }
            if attr.path().is_ident("module") {
                Kind::Module
            } else {
                Kind::Frozen
            }
        } else {
            continue;
        };
        if seen {
            cx.error_spanned_by(
                attr,
                "a field has one of `#[param]`, `#[buffer]`, `#[module]` and `#[frozen]`, not two",
            );
        }
        seen = true;
        kind = next;
    }
    kind
}

/// The `init = <rule>` of `#[param(..)]` or `#[buffer(..)]`, if given.
fn init_rule(cx: &mut Ctxt, attr: &Attribute, name: &str) -> Option<Expr> {
    if let Meta::Path(_) = attr.meta {
        return None;
    }
    let mut init = None;
    let parsed = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("init") {
            init = Some(meta.value()?.parse::<Expr>()?);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown `{name}` option; the only one is `init`\n= help: write `#[{name}(init = 1.0)]`, `#[{name}(init = uniform(-0.1, 0.1))]` or `#[{name}(init = uniform_fan_in(IN))]`"
            )))
        }
    });
    if let Err(error) = parsed {
        cx.error_at(error.span(), error);
    }
    init
}

/// The impl of `Module`.
fn expand(input: &DeriveInput, krate: &Path, fields: &[Field<'_>]) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let construct = |value: &dyn Fn(&Field<'_>) -> TokenStream| {
        if matches!(&input.data, Data::Struct(data) if matches!(data.fields, Fields::Named(_))) {
            let (names, values) = (fields.iter().map(|f| f.name), fields.iter().map(value));
            quote!(Self { #(#names: #values,)* })
        } else {
            quote!(Self)
        }
    };
    let init = construct(&|field| init_value(field));
    let zeros = construct(&|Field { ty, kind, .. }| match kind {
        Kind::Param(_) | Kind::Buffer(_) => quote!(<#ty as __nn::ParamTensor>::zeros()),
        Kind::Module => quote!(<#ty as __nn::Module>::zeros()),
        Kind::Frozen | Kind::Config => quote!(__nn::Default::default()),
    });
    let lengths = fields.iter().map(|Field { ty, kind, .. }| match kind {
        Kind::Param(_) => quote!(+ <#ty as __nn::ParamTensor>::LEN),
        Kind::Module => quote!(+ <#ty as __nn::Module>::NUM_PARAMS),
        _ => quote!(),
    });
    let visits = fields
        .iter()
        .map(|field| visit(field, quote!(visit_params), quote!(flat)));
    let visits_mut = fields
        .iter()
        .map(|field| visit(field, quote!(visit_params_mut), quote!(flat_mut)));
    let modules: Vec<&Ident> = fields
        .iter()
        .filter(|f| matches!(f.kind, Kind::Module))
        .map(|f| f.name)
        .collect();
    let module_keys = modules.iter().map(|name| format!("{name}."));
    let module_keys_mut = module_keys.clone();
    let frozen: Vec<&Ident> = fields
        .iter()
        .filter(|f| matches!(f.kind, Kind::Frozen))
        .map(|f| f.name)
        .collect();
    let zips = fields.iter().map(|Field { name, ty, kind }| match kind {
        Kind::Param(_) => quote! {
            if !(false #(|| self.#frozen)*) {
                __update(
                    <#ty as __nn::ParamTensor>::flat_mut(&mut self.#name),
                    <#ty as __nn::ParamTensor>::flat(&__grads.#name),
                );
            }
        },
        Kind::Module => quote!(<#ty as __nn::Module>::zip_params(&mut self.#name, &__grads.#name, __update);),
        _ => quote!(),
    });
    quote! {
        const _: () = {
            use #krate::__private as __nn;

            #[automatically_derived]
            impl #impl_generics __nn::Module for #name #ty_generics #where_clause {
                const NUM_PARAMS: usize = 0 #(#lengths)*;

                fn init_with(__rng: &mut __nn::Rng) -> Self {
                    #init
                }

                fn zeros() -> Self {
                    #zeros
                }

                fn visit_params(&self, __prefix: &str, __visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
                    #(#visits)*
                }

                fn visit_params_mut(&mut self, __prefix: &str, __visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
                    #(#visits_mut)*
                }

                fn zip_params(&mut self, __grads: &Self, __update: &mut dyn FnMut(&mut [f32], &[f32])) {
                    #(#zips)*
                }

                fn visit_counters(&self, __prefix: &str, __visit: &mut dyn FnMut(&str, i64)) {
                    #(__nn::Module::visit_counters(&self.#modules, &__nn::String::from_iter([__prefix, #module_keys]), __visit);)*
                }

                fn visit_counters_mut(&mut self, __prefix: &str, __visit: &mut dyn FnMut(&str, &mut i64)) {
                    #(__nn::Module::visit_counters_mut(&mut self.#modules, &__nn::String::from_iter([__prefix, #module_keys_mut]), __visit);)*
                }

                fn set_frozen(&mut self, __frozen: bool) {
                    #(__nn::Module::set_frozen(&mut self.#modules, __frozen);)*
                    #(self.#frozen = __frozen;)*
                }
            }
        };
    }
}

/// A field's value in `init`: its rule applied in row-major order, drawing from `__rng`.
fn init_value(field: &Field<'_>) -> TokenStream {
    let ty = field.ty;
    match &field.kind {
        Kind::Param(Some(rule)) | Kind::Buffer(Some(rule)) => {
            // A closure is wrapped so that its argument's type is inferred.
            let rule = match rule {
                Expr::Closure(_) => quote_spanned!(rule.span()=> __nn::init::from_fn(#rule)),
                _ => quote!(#rule),
            };
            let fill = quote_spanned!(rule.span()=> __nn::init::fill(<#ty as __nn::ParamTensor>::flat_mut(&mut __tensor), #rule, __rng));
            quote! {{
                // The rule's helpers are written bare in the attribute.
                #[allow(unused_imports)]
                use __nn::init::{uniform, uniform_fan_in};
                let mut __tensor = <#ty as __nn::ParamTensor>::zeros();
                #fill;
                __tensor
            }}
        }
        Kind::Param(None) | Kind::Buffer(None) => quote!(<#ty as __nn::ParamTensor>::zeros()),
        Kind::Module => quote!(<#ty as __nn::Module>::init_with(__rng)),
        Kind::Frozen | Kind::Config => quote!(__nn::Default::default()),
    }
}

/// One field's part of `visit_params` (`flat`) or `visit_params_mut` (`flat_mut`).
fn visit(field: &Field<'_>, method: TokenStream, flat: TokenStream) -> TokenStream {
    let Field { name, ty, kind } = field;
    let key = name.to_string();
    let mutable = (flat.to_string() == "flat_mut").then(|| quote!(mut));
    match kind {
        Kind::Param(_) | Kind::Buffer(_) => quote! {
            __visit(
                &__nn::String::from_iter([__prefix, #key]),
                <#ty as __nn::ParamTensor>::SHAPE,
                <#ty as __nn::ParamTensor>::#flat(&#mutable self.#name),
            );
        },
        Kind::Module => {
            let key = format!("{key}.");
            quote!(<#ty as __nn::Module>::#method(&#mutable self.#name, &__nn::String::from_iter([__prefix, #key]), __visit);)
        }
        Kind::Frozen | Kind::Config => quote!(),
    }
}

/// The errors, and an impl of `Module` that never runs (the crate does not compile), so that
/// code using the layer reports nothing more.
fn fallback(input: &DeriveInput, krate: &Path, errors: Vec<syn::Error>) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let message = format!("`{name}` has a `#[derive(Module)]` with errors");
    quote! {
        #(#errors)*
        const _: () = {
            use #krate::__private as __nn;

            #[allow(unused_variables, clippy::all)]
            impl #impl_generics __nn::Module for #name #ty_generics #where_clause {
                const NUM_PARAMS: usize = 0;
                fn init_with(__rng: &mut __nn::Rng) -> Self {
                    ::core::unreachable!(#message)
                }
                fn zeros() -> Self {
                    ::core::unreachable!(#message)
                }
                fn visit_params(&self, __prefix: &str, __visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}
                fn visit_params_mut(&mut self, __prefix: &str, __visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {}
                fn zip_params(&mut self, __grads: &Self, __update: &mut dyn FnMut(&mut [f32], &[f32])) {}
            }
        };
    }
}
