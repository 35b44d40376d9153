//! `Residual { body [, shortcut: chain] }` and `Concat { chain, chain, .. }`: each path is
//! checked as a chain of its own from the block's input, then the paths must meet: a residual
//! body gives the shape it takes (or the shape its shortcut gives), and concatenated branches
//! agree in every dimension but the one they are joined along.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::Ident;

use super::{check_chain, respan, shape_text, shape_ty, Block, Chain, Construct, Dim, Flow, Origin, Shape, Stage};
use crate::ast::{BlockDecl, BlockKind};
use crate::ctxt::Ctxt;

/// Checks a block against its input; returns its stage and the tensor it gives.
pub(super) fn check(
    cx: &mut Ctxt,
    krate: &syn::Path,
    outer: &Ident,
    decl: &BlockDecl,
    flow: &Flow,
    field: Ident,
    key: String,
) -> (Stage, Flow) {
    let prefix = format!("{outer}{}", camel_case(&field.to_string()));
    let names: Vec<Ident> = match decl.kind {
        BlockKind::Residual => ["Body", "Shortcut"]
            .iter()
            .map(|part| format_ident!("{prefix}{part}"))
            .collect(),
        BlockKind::Concat => (0..decl.chains.len())
            .map(|i| format_ident!("{prefix}Branch{i}"))
            .collect(),
    };
    let mut chains = Vec::new();
    let mut outputs = Vec::new();
    for (nodes, name) in decl.chains.iter().zip(names) {
        let start = Flow {
            origin: Origin::Chain(format!("{} {{ ..", decl.keyword)),
            ..flow.clone()
        };
        let (chain, output) = check_chain(cx, krate, name, nodes, start);
        chains.push(chain);
        outputs.push(output);
    }
    let krate_here = respan(krate, decl.keyword.span());
    let (ty, next) = match decl.kind {
        BlockKind::Residual => residual(cx, &krate_here, decl, flow, &chains, &outputs),
        BlockKind::Concat => concat(cx, &krate_here, decl, &chains, &outputs),
    };
    let params = chains
        .iter()
        .flat_map(|chain| &chain.stages)
        .map(|stage| stage.params)
        .sum::<Option<u64>>();
    let stage = Stage {
        field,
        key,
        ty,
        input_ty: flow.ty.clone(),
        output_ty: next.ty.clone(),
        display: format!("{} {{..}}", decl.keyword),
        span: decl.keyword.span(),
        size_span: decl.keyword.span(),
        opaque_output: matches!(next.shape, Shape::Opaque),
        output_text: shape_text(&next.shape),
        output_dims: super::dims_tokens(&next.shape),
        literal: super::literal(&next.shape)
            && chains
                .iter()
                .all(|chain| chain.input_literal && chain.stages.iter().all(|stage| stage.literal)),
        params,
        construct: Construct::Module,
        reshape: false,
        built_in: None,
        block: Some(Block {
            kind: decl.kind,
            chains,
        }),
        shape: next.shape.clone(),
    };
    (stage, next)
}

/// `Residual`: the body must give its input's shape, or the shortcut's.
fn residual(
    cx: &mut Ctxt,
    krate: &TokenStream,
    decl: &BlockDecl,
    flow: &Flow,
    chains: &[Chain],
    outputs: &[Flow],
) -> (TokenStream, Flow) {
    let body = &chains[0];
    let body_output = &outputs[0];
    let body_name = &body.name;
    let (shortcut_ty, meets) = match chains.get(1) {
        Some(shortcut) => {
            let shortcut_output = &outputs[1];
            if same_shape(&body_output.shape, &shortcut_output.shape) == Some(false) {
                let span = shortcut.stages.last().map_or(decl.brace_span, |stage| stage.span);
                cx.error_at(
                    span,
                    format!(
                        "the two paths of `Residual` must meet in one shape, but the body gives `{}` and the shortcut gives `{}`\n= help: make the shortcut give `{}`, or the body give `{}`",
                        shape_text(&body_output.shape),
                        shape_text(&shortcut_output.shape),
                        shape_text(&body_output.shape),
                        shape_text(&shortcut_output.shape),
                    ),
                );
            }
            let name = &shortcut.name;
            (name.to_token_stream(), shortcut_output)
        }
        None => {
            if same_shape(&flow.shape, &body_output.shape) == Some(false) {
                report_changed_shape(cx, flow, body);
            }
            (quote!(#krate::__private::Identity), flow)
        }
    };
    let ty = quote_spanned!(decl.keyword.span()=> #krate::__private::Residual<#body_name, #shortcut_ty>);
    // The output is the body's; when a custom layer hides it, the path it must meet tells it.
    let shape = match (&body_output.shape, &meets.shape) {
        (Shape::Opaque, known @ Shape::Known(_)) => known.clone(),
        (shape, _) => shape.clone(),
    };
    let output_ty = match &shape {
        Shape::Known(_) | Shape::Tokens(_) => shape_ty(&shape),
        Shape::Opaque => {
            let input = &flow.ty;
            quote!(<#ty as #krate::__private::Layer<#input>>::Output)
        }
    };
    let next = Flow {
        shape,
        ty: output_ty,
        origin: Origin::Chain(format!("{} {{..}}", decl.keyword)),
    };
    (ty, next)
}

/// A residual body without a shortcut that changes the shape: the error goes on the layer
/// after which the shape is no longer the input's, and stays so.
fn report_changed_shape(cx: &mut Ctxt, flow: &Flow, body: &Chain) {
    let mut before = flow.shape.clone();
    let mut culprit = body.stages.last();
    for stage in &body.stages {
        if same_shape(&flow.shape, &before) == Some(true) && same_shape(&flow.shape, &stage.shape) == Some(false) {
            culprit = Some(stage);
        }
        before = stage.shape.clone();
    }
    let Some(culprit) = culprit else { return };
    let input = shape_text(&flow.shape);
    let changed = shape_text(&culprit.shape);
    let output = shape_text(&body.stages.last().map_or(Shape::Opaque, |stage| stage.shape.clone()));
    cx.error_at(
        culprit.size_span,
        format!(
            "shape mismatch: a `Residual` body must give the shape it takes, `{input}`, but `{}` changes it to `{changed}`{}\n= help: keep the shape `{input}` in the body, or add a shortcut that gives `{output}` too: `Residual {{ <body>, shortcut: <chain> }}`",
            culprit.display,
            if changed == output { String::new() } else { format!(" (the body gives `{output}`)") },
        ),
    );
}

/// `Concat`: flat branches join their features, image branches their channels; every other
/// dimension must agree.
fn concat(
    cx: &mut Ctxt,
    krate: &TokenStream,
    decl: &BlockDecl,
    chains: &[Chain],
    outputs: &[Flow],
) -> (TokenStream, Flow) {
    let known: Option<Vec<&Vec<Dim>>> = outputs
        .iter()
        .map(|output| match &output.shape {
            Shape::Known(dims) => Some(dims),
            Shape::Tokens(_) | Shape::Opaque => None,
        })
        .collect();
    let shape = match known {
        Some(dims) => concat_shape(cx, decl, chains, &dims),
        // A custom layer's output: taken as flat features, which the type system confirms.
        None => {
            let lens = outputs.iter().map(|output| {
                let ty = &output.ty;
                quote!(<#ty as #krate::__private::Tensor>::LEN)
            });
            Shape::Known(vec![Dim {
                value: None,
                tokens: quote!({ 0 #(+ #lens)* }),
                text: "?".into(),
            }])
        }
    };
    // After an error nothing is generated: the type only has to exist.
    let output_ty = match &shape {
        Shape::Known(_) | Shape::Tokens(_) => shape_ty(&shape),
        Shape::Opaque => quote!(()),
    };
    let names = chains.iter().map(|chain| &chain.name);
    let ty = quote_spanned!(decl.keyword.span()=> #krate::__private::Concat<(#(#names,)*), #output_ty>);
    let next = Flow {
        shape,
        ty: output_ty,
        origin: Origin::Chain(format!("{} {{..}}", decl.keyword)),
    };
    (ty, next)
}

/// The joined shape of branches whose shapes are all known; `Opaque` after an error, so that
/// later layers add no errors of their own.
fn concat_shape(cx: &mut Ctxt, decl: &BlockDecl, chains: &[Chain], dims: &[&Vec<Dim>]) -> Shape {
    let span = |i: usize| chains[i].stages.last().map_or(decl.brace_span, |stage| stage.span);
    let text = |i: usize| shape_text(&Shape::Known(dims[i].clone()));
    let rank = dims[0].len();
    if rank == 2 {
        cx.error_at(
            span(0),
            format!(
                "`Concat` joins flat features `[N]` or image channels `[C, H, W]`, but branch 0 gives `{}`\n= help: flatten the branches first",
                text(0)
            ),
        );
        return Shape::Opaque;
    }
    let mut ok = true;
    for i in 1..dims.len() {
        if dims[i].len() != rank {
            cx.error_at(
                span(i),
                format!(
                    "the branches of `Concat` must have the same rank, but branch 0 gives `{}` and branch {i} gives `{}`\n= help: flatten the image branch, or make both give images",
                    text(0),
                    text(i)
                ),
            );
            ok = false;
            continue;
        }
        if (1..rank).any(|axis| same_dim(&dims[0][axis], &dims[i][axis]) == Some(false)) {
            cx.error_at(
                    span(i),
                    format!(
                        "the branches of `Concat` join channels and must agree in height and width, but branch 0 gives `{}` and branch {i} gives `{}`\n= help: make every branch give images of `{}` by `{}`",
                        text(0),
                        text(i),
                        dims[0][1].text,
                        dims[0][2].text
                    ),
                );
            ok = false;
        }
    }
    if !ok {
        return Shape::Opaque;
    }
    let joined = sum_dim(dims.iter().map(|d| &d[0]));
    let mut result = vec![joined];
    result.extend(dims[0][1..].iter().cloned());
    Shape::Known(result)
}

/// The sum of dimensions: a literal when every term is one, else an expression.
fn sum_dim<'a>(dims: impl Iterator<Item = &'a Dim> + Clone) -> Dim {
    let values: Option<u64> = dims.clone().map(|dim| dim.value).sum();
    match values {
        Some(value) => Dim {
            value: Some(value),
            tokens: proc_macro2::Literal::u64_unsuffixed(value).into_token_stream(),
            text: value.to_string(),
        },
        None => {
            let text = dims.clone().map(|d| d.text.as_str()).collect::<Vec<_>>().join(" + ");
            let terms = dims.map(|d| &d.tokens);
            Dim {
                value: None,
                tokens: quote!({ 0 #(+ #terms)* }),
                text,
            }
        }
    }
}

/// Whether two shapes are the same: `None` when the macro cannot tell (a custom layer, or a
/// named constant against another expression).
pub(super) fn same_shape(a: &Shape, b: &Shape) -> Option<bool> {
    let (Shape::Known(a), Shape::Known(b)) = (a, b) else {
        return None;
    };
    if a.len() != b.len() {
        return Some(false);
    }
    let mut all = Some(true);
    for (x, y) in a.iter().zip(b) {
        match same_dim(x, y) {
            Some(false) => return Some(false),
            None => all = None,
            Some(true) => {}
        }
    }
    all
}

fn same_dim(a: &Dim, b: &Dim) -> Option<bool> {
    match (a.value, b.value) {
        (Some(x), Some(y)) => Some(x == y),
        _ if a.text == b.text => Some(true),
        _ => None,
    }
}

/// `layer_3` as `Layer3`, `block1` as `Block1`: a field name as part of a type name.
fn camel_case(field: &str) -> String {
    field
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}
