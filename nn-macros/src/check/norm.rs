//! `BatchNorm1d<N>`, `BatchNorm2d<C>` and `LayerNorm<N>`: one size each, which must be the
//! features, channels or last dimension of what reaches them. The shape passes through.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::GenericArgument;

use super::built_in::BuiltIn;
use super::{generic_dim, respan, shape_text, Dim, Flow, Shape};
use crate::ast::LayerDecl;
use crate::ctxt::Ctxt;

/// Checks a normalisation layer against its input; returns the runtime type and the tensor it
/// gives (the same shape).
pub(super) fn check(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
    kind: BuiltIn,
) -> (TokenStream, Flow) {
    let name = kind.name();
    let display = layer.display();
    let ident = layer.ident();
    let next = Flow {
        origin: flow.origin.then(&display),
        ..flow.clone()
    };
    let size = match args {
        [arg] => generic_dim(cx, arg).map(|size| (size, *arg)),
        _ => {
            let what = match kind {
                BuiltIn::BatchNorm1d => "`BatchNorm1d<FEATURES>`",
                BuiltIn::BatchNorm2d => "`BatchNorm2d<CHANNELS>`",
                _ => "`LayerNorm<LAST_DIMENSION>`",
            };
            let help = match given_size(kind, flow) {
                Some(size) => format!("\n= help: write `{name}<{}>`", size.text),
                None => String::new(),
            };
            cx.error_spanned_by(
                &layer.path,
                format!(
                    "`{name}` takes one size, {what}, but `{display}` has {}{help}",
                    args.len()
                ),
            );
            None
        }
    };
    let Some((size, arg)) = size else {
        return (quote_spanned!(ident.span()=> ()), next);
    };
    if let Shape::Known(dims) = &flow.shape {
        check_rank(cx, layer, kind, dims, flow, &size);
        if let (Some(given), Some(takes)) = (given_size(kind, flow).and_then(|d| d.value), size.value) {
            if given != takes {
                let what = match kind {
                    BuiltIn::BatchNorm1d => "features",
                    BuiltIn::BatchNorm2d => "channels",
                    _ => "values in the last dimension",
                };
                cx.error_spanned_by(
                    arg,
                    format!(
                        "shape mismatch: `{display}` normalises {takes} {what}, but {}\n= help: write `{name}<{given}>`",
                        flow.origin.gives_shape(&shape_text(&flow.shape))
                    ),
                );
            }
        }
    }
    let krate = respan(krate, ident.span());
    let tokens = &size.tokens;
    (quote_spanned!(ident.span()=> #krate::__private::#ident<#tokens>), next)
}

/// The size the layer must be written with, from the shape that reaches it.
fn given_size(kind: BuiltIn, flow: &Flow) -> Option<Dim> {
    let Shape::Known(dims) = &flow.shape else { return None };
    match (kind, dims.len()) {
        (BuiltIn::BatchNorm1d, 1) => Some(dims[0].clone()),
        (BuiltIn::BatchNorm2d, 3) => Some(dims[0].clone()),
        (BuiltIn::LayerNorm, _) => dims.last().cloned(),
        _ => None,
    }
}

/// `BatchNorm1d` on flat features, `BatchNorm2d` on images; the other one is suggested.
fn check_rank(cx: &mut Ctxt, layer: &LayerDecl, kind: BuiltIn, dims: &[Dim], flow: &Flow, size: &Dim) {
    let display = layer.display();
    let gives = flow.origin.gives_shape(&shape_text(&flow.shape));
    match (kind, dims.len()) {
        (BuiltIn::BatchNorm1d, 3) => cx.error_spanned_by(
            &layer.path,
            format!(
                "`{display}` normalises flat features, but {gives}\n= help: for images write `BatchNorm2d<{}>`",
                dims[0].text
            ),
        ),
        (BuiltIn::BatchNorm1d, 1) | (BuiltIn::BatchNorm2d, 3) | (BuiltIn::LayerNorm, _) => {}
        (BuiltIn::BatchNorm2d, 1) => cx.error_spanned_by(
            &layer.path,
            format!(
                "`{display}` normalises the channels of `[C, H, W]` images, but {gives}\n= help: for flat features write `BatchNorm1d<{}>`",
                dims[0].text
            ),
        ),
        (_, _) => cx.error_spanned_by(
            &layer.path,
            format!(
                "`{display}` takes flat features `[{}]`, but {gives}\n= help: flatten it first, or normalise the last dimension with `LayerNorm<{}>`",
                size.text,
                dims.last().map_or("N", |d| d.text.as_str())
            ),
        ),
    }
}

/// Parameter count from literal sizes: a weight and a bias per normalised value.
pub(super) fn params(args: &[&GenericArgument], literal: impl Fn(&GenericArgument) -> Option<u64>) -> Option<u64> {
    match args {
        [size] => literal(size).map(|n| 2 * n),
        _ => None,
    }
}
