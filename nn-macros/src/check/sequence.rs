//! The sequence layers: `Embedding<VOCAB, D>` turns token ids `[usize; T]` into `[T, D]`;
//! `PositionEmbedding<P, D>` and `CausalSelfAttention<D, H>` take and give `[T, D]`.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::GenericArgument;

use super::{generic_dim, respan, shape_text, shape_ty, Dim, Flow, Shape};
use crate::ast::LayerDecl;
use crate::ctxt::Ctxt;

/// `Embedding<VOCAB, D>`: its input must be token ids.
pub(super) fn embedding(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
) -> (TokenStream, Flow) {
    let display = layer.display();
    let Some([vocab, width]) = two_sizes(cx, layer, args, "Embedding<VOCAB, D>") else {
        return unchecked(krate, layer, flow);
    };
    let length = match &flow.shape {
        Shape::Tokens(length) => Some(length.clone()),
        Shape::Known(dims) => {
            cx.error_spanned_by(
                layer.ident(),
                format!(
                    "`{display}` takes token ids `[usize; T]`, but {}\n= help: declare the input as token ids: `[usize; {}]`",
                    flow.origin.gives_shape(&shape_text(&flow.shape)),
                    dims.first().map_or("T", |dim| dim.text.as_str())
                ),
            );
            // Read as the sequence the user meant, so that what follows is checked as usual.
            match dims.as_slice() {
                [length] => Some(length.clone()),
                _ => None,
            }
        }
        Shape::Opaque => None,
    };
    let output = Shape::Known(vec![length.unwrap_or_else(unknown), width.clone()]);
    (layer_type(krate, layer, &[vocab, width]), next(flow, display, output))
}

/// `PositionEmbedding<P, D>`: its input is `[T, D]` with `T <= P`.
pub(super) fn position_embedding(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
) -> (TokenStream, Flow) {
    let form = RowLayer {
        name: "PositionEmbedding",
        sizes: ["POSITIONS", "D"],
        width_at: 1,
    };
    row_layer(cx, krate, layer, args, flow, form, |cx, [positions, width], length| {
        let (Some(rows), Some(length)) = (positions.value, length.and_then(|length| length.value)) else {
            return;
        };
        if rows < length {
            cx.error_spanned_by(
                args[0],
                format!(
                    "`{}` has a table of {rows} positions, but {}: {length} positions\n= help: write `PositionEmbedding<{length}, {}>` (or more positions)",
                    layer.display(),
                    flow.origin.gives_shape(&shape_text(&flow.shape)),
                    width.text
                ),
            );
        }
    })
}

/// `CausalSelfAttention<D, H>`: its input is `[T, D]`, and `H` heads divide `D`.
pub(super) fn attention(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
) -> (TokenStream, Flow) {
    let form = RowLayer {
        name: "CausalSelfAttention",
        sizes: ["D", "HEADS"],
        width_at: 0,
    };
    row_layer(cx, krate, layer, args, flow, form, |cx, [width, heads], _| {
        let (Some(d), Some(h)) = (width.value, heads.value) else {
            return;
        };
        if !d.is_multiple_of(h) {
            cx.error_spanned_by(
                args[1],
                format!(
                    "`{}`: {h} heads do not divide the width {d}, so the heads cannot share it equally\n= help: {}",
                    layer.display(),
                    nearest_divisors(d, h)
                ),
            );
        }
    })
}

/// A layer of two sizes that takes a sequence `[T, D]` and gives the same shape.
struct RowLayer {
    name: &'static str,
    /// The sizes' names, as the messages write them.
    sizes: [&'static str; 2],
    /// Which size is the width `D`.
    width_at: usize,
}

/// Reads a [`RowLayer`]'s sizes, runs `rules` (the layer's own checks, given the sizes and the
/// input's length `T` when known), and checks that the input is `[T, D]` with the layer's `D`.
fn row_layer(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
    form: RowLayer,
    rules: impl FnOnce(&mut Ctxt, [&Dim; 2], Option<&Dim>),
) -> (TokenStream, Flow) {
    let display = layer.display();
    let example = format!("{}<{}, {}>", form.name, form.sizes[0], form.sizes[1]);
    let Some(sizes) = two_sizes(cx, layer, args, &example) else {
        return unchecked(krate, layer, flow);
    };
    let input = sequence_dims(cx, layer, flow, "[T, D]");
    // The layer's own rules first: their mistakes are about the layer alone.
    rules(cx, [&sizes[0], &sizes[1]], input.as_ref().map(|[length, _]| length));
    if let Some([_, given]) = &input {
        check_width(
            cx,
            args[form.width_at],
            &display,
            &sizes[form.width_at],
            given,
            flow,
            |d| {
                let mut written = sizes.clone().map(|size| size.text);
                written[form.width_at] = d.to_string();
                format!("{}<{}, {}>", form.name, written[0], written[1])
            },
        );
    }
    (
        layer_type(krate, layer, &sizes),
        next(flow, display, flow.shape.clone()),
    )
}

/// "use 4 or 8 heads": the divisors of `width` nearest to `heads` on each side.
fn nearest_divisors(width: u64, heads: u64) -> String {
    let below = (1..heads).rev().find(|h| width.is_multiple_of(*h));
    let above = (heads + 1..=width).find(|h| width.is_multiple_of(*h));
    match (below, above) {
        (Some(below), Some(above)) => {
            format!("use {below} or {above} heads, the divisors of {width} nearest to {heads}")
        }
        (Some(only), None) | (None, Some(only)) => {
            format!("use {only} heads, the divisor of {width} nearest to {heads}")
        }
        (None, None) => "use 1 head".to_string(),
    }
}

/// The two sizes of a sequence layer written as `form` (`Embedding<VOCAB, D>`), each reported
/// if it is not a size.
fn two_sizes(cx: &mut Ctxt, layer: &LayerDecl, args: &[&GenericArgument], form: &str) -> Option<[Dim; 2]> {
    if args.len() != 2 {
        cx.error_spanned_by(
            &layer.path,
            format!(
                "`{}` takes two sizes, `{form}`, but `{}` has {}\n= help: write `{form}`",
                layer.ident(),
                layer.display(),
                args.len()
            ),
        );
        return None;
    }
    let first = generic_dim(cx, args[0]);
    let second = generic_dim(cx, args[1]);
    Some([first?, second?])
}

/// The `[T, D]` dimensions of a sequence input; reports any other shape.
fn sequence_dims(cx: &mut Ctxt, layer: &LayerDecl, flow: &Flow, form: &str) -> Option<[Dim; 2]> {
    match &flow.shape {
        Shape::Known(dims) if dims.len() == 2 => Some([dims[0].clone(), dims[1].clone()]),
        Shape::Known(_) => {
            cx.error_spanned_by(
                layer.ident(),
                format!(
                    "`{}` takes a sequence `{form}` (one row of values per position), but {}",
                    layer.display(),
                    flow.origin.gives_shape(&shape_text(&flow.shape))
                ),
            );
            None
        }
        Shape::Tokens(_) | Shape::Opaque => None,
    }
}

/// Reports a layer whose width `D` is not the input's last dimension, at the wrong size.
fn check_width(
    cx: &mut Ctxt,
    arg: &GenericArgument,
    display: &str,
    width: &Dim,
    given: &Dim,
    flow: &Flow,
    fixed: impl Fn(&str) -> String,
) {
    if let (Some(takes), Some(gives)) = (width.value, given.value) {
        if takes != gives {
            cx.error_spanned_by(
                arg,
                format!(
                    "shape mismatch: `{display}` takes rows of {takes} values, but {}: rows of {gives}\n= help: write `{}`",
                    flow.origin.gives_shape(&shape_text(&flow.shape)),
                    fixed(&given.text)
                ),
            );
        }
    }
}

/// The runtime type with the sizes as the macro read them.
fn layer_type(krate: &syn::Path, layer: &LayerDecl, sizes: &[Dim; 2]) -> TokenStream {
    let ident = layer.ident();
    let krate = respan(krate, ident.span());
    let (first, second) = (&sizes[0].tokens, &sizes[1].tokens);
    quote_spanned!(ident.span()=> #krate::__private::#ident<#first, #second>)
}

/// The tensor after the layer.
fn next(flow: &Flow, display: String, shape: Shape) -> Flow {
    let ty = match &shape {
        Shape::Known(_) | Shape::Tokens(_) => shape_ty(&shape),
        Shape::Opaque => flow.ty.clone(),
    };
    Flow {
        shape,
        ty,
        origin: flow.origin.then(&display),
    }
}

/// After a layer whose sizes are not sizes: nothing more can be checked.
fn unchecked(krate: &syn::Path, layer: &LayerDecl, flow: &Flow) -> (TokenStream, Flow) {
    super::custom_layer(krate, layer, flow)
}

/// A dimension already reported as wrong.
fn unknown() -> Dim {
    Dim {
        value: None,
        tokens: quote::quote!(1),
        text: "?".into(),
    }
}
