//! Computes the shape after every layer and reports every mistake the literals reveal, each at
//! the token that is wrong, with the fix.
//!
//! What literals cannot reveal (named constants, custom layers) is left to the type system:
//! the generated code binds each layer by `Layer<previous output>`.

use std::collections::HashMap;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, Ident, Lit, PathArguments, Type};

use crate::ast::{display_tokens, BlockKind, LayerDecl, Network, Node};
use crate::ctxt::Ctxt;

// Explicit paths, so the expansion benchmark can include this file with `#[path]` too.
#[path = "check/block.rs"]
mod block;
#[path = "check/built_in.rs"]
mod built_in;
#[path = "check/norm.rs"]
mod norm;
#[path = "check/sequence.rs"]
mod sequence;
#[path = "check/spatial.rs"]
mod spatial;

pub use built_in::BuiltIn;

/// The largest size accepted, so a typo such as `Linear<7840000000, 10>` is a clear error rather
/// than a stack overflow or an arithmetic overflow in rustc.
const MAX_SIZE: u64 = 1 << 24;

/// A checked chain, the network itself or one path of a block: everything code generation
/// needs to emit its struct.
pub struct Chain {
    /// The struct generated for it: the network's name, or a name derived from it for a path
    /// inside a block (`ResNetLayer3Body`).
    pub name: Ident,
    pub input_ty: TokenStream,
    pub output_ty: TokenStream,
    pub stages: Vec<Stage>,
    /// The input shape as written, `[28, 28]`.
    pub input_text: String,
    /// Whether every size of the input is a literal.
    pub input_literal: bool,
}

/// A block's paths, each emitted as a struct of its own.
pub struct Block {
    pub kind: BlockKind,
    /// `Residual`: the body, then the shortcut if written. `Concat`: the branches.
    pub chains: Vec<Chain>,
}

/// How generated code builds a layer in `init` and `zeros`.
pub enum Construct {
    /// `Module::init_with(rng)` and `Module::zeros()`.
    Module,
    /// `Dropout(p)`: `init_with(rng, p)`, which seeds its masks, and `new(p)`.
    Seeded(TokenStream),
    /// A constructor call after `<Type>::`, the same for both: `new(0.2)`, `tanh()`.
    Call(TokenStream),
}

/// One layer with its place in the chain.
pub struct Stage {
    /// The struct field holding the layer.
    pub field: Ident,
    /// Its safetensors key prefix: its name, or its 0-based position.
    pub key: String,
    /// The layer type to emit.
    pub ty: TokenStream,
    /// The per-sample tensor it takes and gives.
    pub input_ty: TokenStream,
    pub output_ty: TokenStream,
    /// The layer as written, for summaries.
    pub display: String,
    /// Where it was written, for errors the type system reports.
    pub span: Span,
    /// The size that sets its output (`128` of `Linear<784, 128>`), or `span`.
    size_span: Span,
    /// Whether `output_ty` is the layer's own `Layer::Output` projection (a custom layer),
    /// not a shape the macro computed.
    pub opaque_output: bool,
    /// The output shape as text (`[128]`, or `?` after a custom layer), for the struct's docs.
    pub output_text: String,
    /// The output's dimensions as tokens, when the macro computed them.
    pub output_dims: Option<Vec<TokenStream>>,
    /// Whether the macro computed every size of the output from literals: then it has checked
    /// this stage completely, and the type system has nothing left to check.
    pub literal: bool,
    /// The parameter count, when the macro can compute it from literals.
    pub params: Option<u64>,
    /// How `init` and `zeros` build it.
    pub construct: Construct,
    /// The built-in `Flatten`: a batch's output is its input's memory viewed flat, so batched
    /// passes view it instead of copying (`nn::__private::flatten_batch`).
    pub reshape: bool,
    /// The built-in layer this stage is, if it is one.
    pub built_in: Option<BuiltIn>,
    /// The paths of a `Residual { .. }` or `Concat { .. }` stage.
    pub block: Option<Block>,
    /// The shape it gives, for the checks of the block around it.
    shape: Shape,
}

/// One dimension: its value if it is a literal, and the tokens that compute it.
#[derive(Clone)]
struct Dim {
    value: Option<u64>,
    tokens: TokenStream,
    text: String,
}

/// What the macro knows about the tensor flowing between two layers.
#[derive(Clone)]
enum Shape {
    Known(Vec<Dim>),
    /// A sequence of `T` token ids, `[usize; T]`: only a network's input is one.
    Tokens(Dim),
    /// After a custom layer: only the type system knows.
    Opaque,
}

/// Which layers produced the current tensor, for messages: "`Linear<784, 128> -> ReLU` gives 128".
#[derive(Clone)]
enum Origin {
    Input(String),
    Chain(String),
    /// A chain ending in `Flatten` of an image: messages say which shape was flattened.
    Flattened {
        chain: String,
        image: String,
    },
}

impl Origin {
    fn then(&self, layer: &str) -> Origin {
        match self {
            Origin::Input(shape) => Origin::Chain(format!("{shape} => {layer}")),
            Origin::Chain(chain) | Origin::Flattened { chain, .. } => Origin::Chain(format!("{chain} -> {layer}")),
        }
    }

    /// "`Linear<784, 128> -> ReLU` gives 128", or "the input `[784]` has 784 values".
    fn gives_count(&self, count: u64) -> String {
        match self {
            Origin::Input(shape) => format!("the input `{shape}` has {count} values"),
            Origin::Chain(chain) => format!("`{chain}` gives {count}"),
            Origin::Flattened { chain, image } => format!("`{chain}` gives {count} (`{image}` flattened)"),
        }
    }

    /// "`Linear<784, 128> -> ReLU` gives `[128]`", or "the input is `[28, 28]`".
    fn gives_shape(&self, shape: &str) -> String {
        match self {
            Origin::Input(_) => format!("the input is `{shape}`"),
            Origin::Chain(chain) | Origin::Flattened { chain, .. } => format!("`{chain}` gives `{shape}`"),
        }
    }
}

/// The tensor between two layers.
#[derive(Clone)]
struct Flow {
    shape: Shape,
    ty: TokenStream,
    origin: Origin,
}

impl Flow {
    /// The number of values, when the tensor is flat and its size a literal.
    fn flat_size(&self) -> Option<u64> {
        match &self.shape {
            Shape::Known(dims) if dims.len() == 1 => dims[0].value,
            _ => None,
        }
    }
}

/// What a declaration with mistakes still tells: every mistake, and the input and output types
/// when the macro knows them (for the stand-in's `forward`).
pub struct Mistakes {
    pub errors: Vec<syn::Error>,
    pub types: Option<(TokenStream, TokenStream)>,
}

/// Checks a declaration; `Err` holds every mistake found.
pub fn check(network: &Network) -> Result<Chain, Mistakes> {
    let mut cx = Ctxt::default();
    let krate = &network.header.krate;
    let input_dims: Vec<Dim> = network
        .input
        .iter()
        .map(|expr| dim(&mut cx, expr).unwrap_or_else(|| unknown_dim(expr)))
        .collect();
    if let Some(element) = &network.token_type {
        cx.error_spanned_by(
            element,
            format!("token ids are `usize`, like class labels: write `[usize; T]`, not `[{element}; T]`"),
        );
    } else if network.token_input {
        // The parser reads exactly one length in `[usize; T]`.
    } else if network.input.is_empty() || network.input.len() > 3 {
        cx.error_at(
            network.input_span,
            format!(
                "the input shape has {} dimensions; write `[N]`, `[H, W]` or `[C, H, W]`",
                network.input.len()
            ),
        );
    }
    let input_shape = match input_dims.as_slice() {
        [length] if network.token_input => Shape::Tokens(length.clone()),
        _ => Shape::Known(input_dims),
    };
    let flow = Flow {
        ty: shape_ty(&input_shape),
        origin: Origin::Input(shape_text(&input_shape)),
        shape: input_shape,
    };
    let input_known = reliable(&flow.shape);
    let (chain, output) = check_chain(&mut cx, krate, network.header.name.clone(), &network.layers, flow);
    let types = (input_known && reliable(&output.shape)).then(|| (chain.input_ty.clone(), chain.output_ty.clone()));
    cx.finish(chain).map_err(|errors| Mistakes { errors, types })
}

/// Whether a shape is known in every dimension (none is a size already reported as wrong).
fn reliable(shape: &Shape) -> bool {
    match shape {
        Shape::Known(dims) => dims.iter().all(|dim| dim.text != "?"),
        Shape::Tokens(length) => length.text != "?",
        Shape::Opaque => false,
    }
}

/// Checks a chain of nodes starting from `flow`; returns it and the tensor it gives.
fn check_chain(cx: &mut Ctxt, krate: &syn::Path, name: Ident, nodes: &[Node], mut flow: Flow) -> (Chain, Flow) {
    let input_ty = flow.ty.clone();
    let input_text = shape_text(&flow.shape);
    let input_literal = literal(&flow.shape);
    check_names(cx, nodes);
    let mut stages = Vec::with_capacity(nodes.len());
    for (position, node) in nodes.iter().enumerate() {
        let (field, key) = match node.name() {
            Some(name) => (name.clone(), name.to_string()),
            None => (format_ident!("layer_{}", position), position.to_string()),
        };
        if let (Shape::Tokens(_), Node::Block(decl)) = (&flow.shape, node) {
            cx.error_spanned_by(
                &decl.keyword,
                format!(
                    "`{}` takes `f32` values, but {}\n= help: start with an `Embedding<VOCAB, D>`, which gives each token a vector of D values",
                    node.display(),
                    flow.origin.gives_shape(&shape_text(&flow.shape))
                ),
            );
            flow.shape = Shape::Opaque;
        }
        let (stage, next) = match node {
            Node::Layer(layer) => check_layer_stage(cx, krate, layer, &flow, field, key),
            Node::Block(decl) => block::check(cx, krate, &name, decl, &flow, field, key),
        };
        stages.push(stage);
        flow = next;
    }
    let chain = Chain {
        name,
        input_ty,
        output_ty: flow.ty.clone(),
        stages,
        input_text,
        input_literal,
    };
    (chain, flow)
}

/// A layer's stage and the tensor it gives.
fn check_layer_stage(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    flow: &Flow,
    field: Ident,
    key: String,
) -> (Stage, Flow) {
    let built_in = BuiltIn::of(layer);
    let (ty, next) = check_layer(cx, krate, layer, flow);
    let stage = Stage {
        field,
        key,
        ty,
        input_ty: flow.ty.clone(),
        output_ty: next.ty.clone(),
        display: layer.display(),
        span: layer.path.span(),
        size_span: output_size_span(layer, built_in),
        opaque_output: matches!(next.shape, Shape::Opaque),
        output_text: shape_text(&next.shape),
        output_dims: dims_tokens(&next.shape),
        literal: built_in.is_some() && literal(&next.shape),
        params: literal_params(layer, flow),
        construct: check_constructor_args(cx, layer, built_in),
        reshape: built_in == Some(BuiltIn::Flatten),
        built_in,
        block: None,
        shape: next.shape.clone(),
    };
    (stage, next)
}

/// The output size of a `Linear` or `Conv2d` (its second size), else the layer's path.
fn output_size_span(layer: &LayerDecl, built_in: Option<BuiltIn>) -> Span {
    let args = generic_args(&layer.path.segments[0].arguments);
    match (built_in, args.get(1)) {
        (
            Some(
                BuiltIn::Linear
                | BuiltIn::Conv2d
                | BuiltIn::Embedding
                | BuiltIn::PositionEmbedding
                | BuiltIn::CausalSelfAttention,
            ),
            Some(size),
        ) => size.span(),
        _ => layer.path.span(),
    }
}

/// Checks the arguments in parentheses of the built-ins that take some (`Dropout(p)`,
/// `LeakyReLU(slope)`, `GELU(approximate = "tanh")`) and rejects them anywhere else; returns
/// how to construct the layer.
fn check_constructor_args(cx: &mut Ctxt, layer: &LayerDecl, built_in: Option<BuiltIn>) -> Construct {
    let display = layer.display();
    let Some(args) = &layer.args else {
        if built_in == Some(BuiltIn::Dropout) {
            cx.error_spanned_by(
                &layer.path,
                "`Dropout` needs the probability of dropping a value\n= help: write `Dropout(0.5)`",
            );
        }
        return Construct::Module;
    };
    let number = || match args.iter().collect::<Vec<_>>().as_slice() {
        [Expr::Lit(syn::ExprLit {
            lit: Lit::Float(float), ..
        })] => float.base10_parse::<f64>().ok(),
        [Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. })] => int.base10_parse::<f64>().ok(),
        _ => None,
    };
    match built_in {
        Some(BuiltIn::Dropout) => match number() {
            Some(p) if (0.0..1.0).contains(&p) => Construct::Seeded(args.to_token_stream()),
            Some(p) => {
                cx.error_spanned_by(
                    args,
                    format!("`{display}`: a dropout probability must be at least 0 and below 1, not {p}"),
                );
                Construct::Module
            }
            None => {
                cx.error_spanned_by(
                    args,
                    format!("`{display}` takes one probability written as a number\n= help: write `Dropout(0.5)`"),
                );
                Construct::Module
            }
        },
        Some(BuiltIn::LeakyReLU) => match number() {
            Some(slope) if slope.is_finite() => Construct::Call(quote!(new(#args))),
            _ => {
                cx.error_spanned_by(
                    args,
                    format!(
                        "`{display}` takes one negative slope written as a number\n= help: write `LeakyReLU(0.01)`"
                    ),
                );
                Construct::Module
            }
        },
        Some(BuiltIn::GELU) => gelu_options(cx, args, &display),
        // Read by the shape check.
        Some(built_in) if built_in.has_options() => Construct::Module,
        // A misspelled built-in (`Conv2D`) is reported by name; its options add nothing.
        None if layer.path.segments.len() == 1 && similar_built_in(&layer.ident().to_string()).is_some() => {
            Construct::Module
        }
        _ => {
            cx.error_spanned_by(
                args,
                format!(
                    "`{display}` takes no arguments in parentheses; only `Dropout(p)`, `LeakyReLU(slope)`, `GELU(approximate = \"tanh\")` and the options of `Conv2d` and pooling do"
                ),
            );
            Construct::Module
        }
    }
}

/// `GELU(approximate = "tanh")` or `GELU(approximate = "none")`, PyTorch's spelling.
fn gelu_options(cx: &mut Ctxt, args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>, display: &str) -> Construct {
    let value = match args.iter().collect::<Vec<_>>().as_slice() {
        [Expr::Assign(assign)] if matches!(&*assign.left, Expr::Path(path) if path.path.is_ident("approximate")) => {
            match &*assign.right {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(text), ..
                }) => Some(text.value()),
                _ => None,
            }
        }
        _ => None,
    };
    match value.as_deref() {
        Some("tanh") => Construct::Call(quote!(tanh())),
        Some("none") => Construct::Call(quote!(exact())),
        _ => {
            cx.error_spanned_by(
                args,
                format!("`{display}`: the only option of `GELU` is `approximate = \"tanh\"` (or `\"none\"`, the default exact form)"),
            );
            Construct::Module
        }
    }
}

/// Whether every dimension of a shape is a literal the macro read.
fn literal(shape: &Shape) -> bool {
    match shape {
        Shape::Known(dims) => dims.iter().all(|dim| dim.value.is_some()),
        Shape::Tokens(length) => length.value.is_some(),
        Shape::Opaque => false,
    }
}

/// The tokens of each dimension of a shape the macro knows.
fn dims_tokens(shape: &Shape) -> Option<Vec<TokenStream>> {
    match shape {
        Shape::Known(dims) => Some(dims.iter().map(|dim| dim.tokens.clone()).collect()),
        Shape::Tokens(length) => Some(vec![length.tokens.clone()]),
        Shape::Opaque => None,
    }
}

/// A built-in layer's parameter count from literal sizes: `IN * OUT + OUT` for `Linear`, 0 for
/// layers without parameters; `None` for custom layers and named constants.
fn literal_params(layer: &LayerDecl, input: &Flow) -> Option<u64> {
    let built_in = BuiltIn::of(layer)?;
    let literal = |arg: &GenericArgument| match arg {
        GenericArgument::Const(Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. })) => int.base10_parse::<u64>().ok(),
        _ => None,
    };
    let args = generic_args(&layer.path.segments[0].arguments);
    match (built_in, args.as_slice()) {
        (BuiltIn::Conv2d, [in_channels, out_channels, kernel]) => {
            let (in_channels, out_channels, kernel) = (literal(in_channels)?, literal(out_channels)?, literal(kernel)?);
            Some(out_channels * in_channels * kernel * kernel + out_channels)
        }
        (BuiltIn::Linear, [inputs, outputs]) => {
            let outputs = literal(outputs)?;
            Some(literal(inputs).or_else(|| input.flat_size())? * outputs + outputs)
        }
        (BuiltIn::Embedding | BuiltIn::PositionEmbedding, [rows, width]) => Some(literal(rows)? * literal(width)?),
        (BuiltIn::CausalSelfAttention, [width, _]) => {
            let width = literal(width)?;
            // The in-projection [3D, D] and its bias, the out-projection [D, D] and its bias.
            Some(4 * width * width + 4 * width)
        }
        (BuiltIn::Linear | BuiltIn::Conv2d, _) => None,
        (BuiltIn::BatchNorm1d | BuiltIn::BatchNorm2d | BuiltIn::LayerNorm, args) => norm::params(args, literal),
        _ => Some(0),
    }
}

/// Checks one layer against its input; returns the type to emit and the tensor it gives.
fn check_layer(cx: &mut Ctxt, krate: &syn::Path, layer: &LayerDecl, flow: &Flow) -> (TokenStream, Flow) {
    let ident = layer.ident();
    let name = ident.to_string();
    let Some(built_in) = BuiltIn::of(layer) else {
        if layer.path.segments.len() == 1 {
            if let Some(suggestion) = similar_built_in(&name) {
                cx.error_spanned_by(
                    ident,
                    format!("unknown layer `{name}`\n= help: did you mean `{suggestion}`?"),
                );
            }
        }
        return custom_layer(krate, layer, flow);
    };
    let args = generic_args(&layer.path.segments[0].arguments);
    if let (Shape::Tokens(_), false) = (&flow.shape, built_in == BuiltIn::Embedding) {
        cx.error_spanned_by(
            ident,
            format!(
                "`{}` takes `f32` values, but {}\n= help: start with an `Embedding<VOCAB, D>`, which gives each token a vector of D values",
                layer.display(),
                flow.origin.gives_shape(&shape_text(&flow.shape))
            ),
        );
        return custom_layer(krate, layer, flow);
    }
    match built_in {
        BuiltIn::Embedding => sequence::embedding(cx, krate, layer, &args, flow),
        BuiltIn::PositionEmbedding => sequence::position_embedding(cx, krate, layer, &args, flow),
        BuiltIn::CausalSelfAttention => sequence::attention(cx, krate, layer, &args, flow),
        BuiltIn::Linear => linear(cx, krate, layer, &args, flow),
        BuiltIn::Flatten => flatten(cx, krate, layer, &args, flow),
        BuiltIn::Conv2d => spatial::check(cx, krate, layer, &args, flow, spatial::Kind::Conv),
        BuiltIn::MaxPool2d => spatial::check(cx, krate, layer, &args, flow, spatial::Kind::MaxPool),
        BuiltIn::AvgPool2d => spatial::check(cx, krate, layer, &args, flow, spatial::Kind::AvgPool),
        BuiltIn::BatchNorm1d | BuiltIn::BatchNorm2d | BuiltIn::LayerNorm => {
            norm::check(cx, krate, layer, &args, flow, built_in)
        }
        _ => {
            if !args.is_empty() {
                cx.error_spanned_by(
                    &layer.path.segments[0].arguments,
                    format!("`{name}` takes no sizes: it keeps the shape it is given\n= help: write `{name}`"),
                );
            }
            debug_assert!(built_in.keeps_shape());
            let krate = respan(krate, ident.span());
            let ty = quote_spanned!(ident.span()=> #krate::__private::#ident);
            (
                ty,
                Flow {
                    origin: flow.origin.then(&name),
                    ..flow.clone()
                },
            )
        }
    }
}

/// `Linear<IN, OUT>`: its input must be flat with `IN` values.
fn linear(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
) -> (TokenStream, Flow) {
    let display = layer.display();
    let dims: Vec<Option<Dim>> = args.iter().map(|arg| generic_dim(cx, arg)).collect();
    let [Some(input), Some(output)] = dims.as_slice() else {
        if dims.len() != 2 {
            let takes = flow.flat_size().map_or("IN".to_string(), |n| n.to_string());
            let help = match dims.as_slice() {
                [Some(only)] if only.text == takes => {
                    format!("write `Linear<{takes}, OUT>` with the number of outputs")
                }
                [Some(only)] => format!("write `Linear<{takes}, {}>`", only.text),
                _ => format!("write `Linear<{takes}, OUT>`"),
            };
            cx.error_spanned_by(
                &layer.path,
                format!(
                    "`Linear` takes two sizes, `Linear<IN, OUT>`, but `{display}` has {}\n= help: {help}",
                    dims.len()
                ),
            );
        }
        return custom_layer(krate, layer, flow);
    };
    // PyTorch's `Linear` acts on the last dimension: a sequence `[T, IN]` gives `[T, OUT]`.
    let mut rows = None;
    match &flow.shape {
        Shape::Known(dims) if dims.len() == 1 => {
            if let (Some(takes), Some(gives)) = (input.value, dims[0].value) {
                if takes != gives {
                    cx.error_spanned_by(
                        args[0],
                        format!(
                            "shape mismatch: `{display}` takes {takes} inputs, but {}\n= help: write `Linear<{gives}, {}>`",
                            flow.origin.gives_count(gives),
                            output.text
                        ),
                    );
                }
            }
        }
        Shape::Known(dims) if dims.len() == 2 => {
            rows = Some(dims[0].clone());
            let all = product(dims);
            match (input.value, dims[1].value) {
                (Some(takes), Some(last)) if takes != last && all == Some(takes) => cx.error_spanned_by(
                    args[0],
                    format!(
                        "`{display}` acts on the last dimension of its input, as PyTorch's `Linear` does, but {}: rows of {last} values, not {takes}\n= help: to use all {takes} values at once, flatten first: `Flatten -> {display}`",
                        flow.origin.gives_shape(&shape_text(&flow.shape))
                    ),
                ),
                (Some(takes), Some(last)) if takes != last => {
                    let flat = all.map_or(String::new(), |all| {
                        format!(", or flatten first: `Flatten -> Linear<{all}, {}>`", output.text)
                    });
                    cx.error_spanned_by(
                        args[0],
                        format!(
                            "shape mismatch: `{display}` takes rows of {takes} values (it acts on the last dimension), but {}: rows of {last}\n= help: write `Linear<{last}, {}>`{flat}",
                            flow.origin.gives_shape(&shape_text(&flow.shape)),
                            output.text
                        ),
                    );
                }
                _ => {}
            }
        }
        Shape::Known(dims) => {
            let fixed = match product(dims) {
                Some(n) if input.value != Some(n) => format!("Linear<{n}, {}>", output.text),
                _ => display.clone(),
            };
            cx.error_spanned_by(
                &layer.path,
                format!(
                    "`{display}` takes a flat input `[{}]` or a sequence `[T, {}]`, but {}\n= help: flatten it first: `Flatten -> {fixed}`",
                    input.text,
                    input.text,
                    flow.origin.gives_shape(&shape_text(&flow.shape))
                ),
            );
        }
        Shape::Tokens(_) | Shape::Opaque => {}
    }
    // Sizes are emitted as the macro read them: literals as literals, anything else in braces,
    // so a misspelled constant is one "cannot find value" rather than also "cannot find type".
    let ident = layer.ident();
    let krate = respan(krate, ident.span());
    let (input_tokens, output_tokens) = (&input.tokens, &output.tokens);
    let ty = quote_spanned!(ident.span()=> #krate::__private::#ident<#input_tokens, #output_tokens>);
    let shape = Shape::Known(rows.into_iter().chain([output.clone()]).collect());
    (
        ty,
        Flow {
            ty: shape_ty(&shape),
            shape,
            origin: Origin::Chain(display),
        },
    )
}

/// `Flatten`: `[H, W]` or `[C, H, W]` to `[H * W]` or `[C * H * W]`.
fn flatten(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
) -> (TokenStream, Flow) {
    let ident = layer.ident();
    let explicit: Option<Dim> = match args {
        [] => None,
        [arg] => generic_dim(cx, arg),
        _ => {
            cx.error_spanned_by(
                &layer.path,
                "`Flatten` takes at most one size: write `Flatten` and the macro computes it",
            );
            None
        }
    };
    let computed = match &flow.shape {
        Shape::Known(dims) if dims.len() == 1 => {
            cx.error_spanned_by(
                ident,
                format!(
                    "`Flatten` after a tensor that is already flat: {}\n= help: remove `Flatten ->`",
                    flow.origin.gives_shape(&shape_text(&flow.shape))
                ),
            );
            Some(dims[0].clone())
        }
        Shape::Known(dims) => Some(product_dim(dims)),
        Shape::Tokens(_) | Shape::Opaque => None,
    };
    let size = match (explicit, computed) {
        (Some(explicit), Some(computed)) => {
            if let (Some(written), Some(actual)) = (explicit.value, computed.value) {
                if written != actual {
                    cx.error_spanned_by(
                        args[0],
                        format!(
                            "`Flatten` of `{}` gives {actual} values, not {written}\n= help: write `Flatten`",
                            shape_text(&flow.shape)
                        ),
                    );
                }
            }
            explicit
        }
        (Some(size), None) | (None, Some(size)) => size,
        (None, None) => {
            // The macro cannot see the shape a custom layer gives; the compiler can.
            let previous = &flow.ty;
            let krate = respan(krate, ident.span());
            Dim {
                value: None,
                tokens: quote!({ <#previous as #krate::__private::Tensor>::LEN }),
                text: "N".into(),
            }
        }
    };
    let size_tokens = &size.tokens;
    let krate = respan(krate, ident.span());
    let ty = quote_spanned!(ident.span()=> #krate::__private::Flatten<#size_tokens>);
    let shape = Shape::Known(vec![size]);
    (
        ty,
        Flow {
            ty: shape_ty(&shape),
            shape,
            origin: match flow.origin.then("Flatten") {
                // After the input itself, the message already shows the shape: `[28, 28] => Flatten`.
                Origin::Chain(chain)
                    if !matches!(flow.origin, Origin::Input(_)) && !matches!(flow.shape, Shape::Opaque) =>
                {
                    Origin::Flattened {
                        chain,
                        image: shape_text(&flow.shape),
                    }
                }
                origin => origin,
            },
        },
    )
}

/// A layer the macro does not know: its output is whatever its `Layer` impl says.
fn custom_layer(krate: &syn::Path, layer: &LayerDecl, flow: &Flow) -> (TokenStream, Flow) {
    let path = &layer.path;
    let input = &flow.ty;
    let ty = path.to_token_stream();
    let output = quote_spanned!(path.span()=> <#path as #krate::__private::Layer<#input>>::Output);
    (
        ty,
        Flow {
            shape: Shape::Opaque,
            ty: output,
            origin: Origin::Chain(layer.display()),
        },
    )
}

/// `tokens` with every span set to `span`, so that errors in generated code that names the
/// runtime (`::nn::__private::Linear`) point at the user's layer, not at the macro call.
fn respan(tokens: &impl ToTokens, span: Span) -> TokenStream {
    tokens
        .to_token_stream()
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(span);
                token = inner.into();
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Reports duplicate layer names and names that clash with an unnamed layer's field.
fn check_names(cx: &mut Ctxt, layers: &[Node]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (position, layer) in layers.iter().enumerate() {
        let Some(name) = layer.name() else { continue };
        let text = name.to_string();
        if let Some(first) = seen.insert(text.clone(), position) {
            cx.error_spanned_by(
                name,
                format!(
                    "two layers are named `{text}` (positions {first} and {position}); each name is a safetensors key and must be unique\n= help: rename this one, for example `{text}_{position}`"
                ),
            );
        }
        if let Some(index) = text.strip_prefix("layer_").and_then(|n| n.parse::<usize>().ok()) {
            if layers.get(index).is_some_and(|other| other.name().is_none()) {
                cx.error_spanned_by(
                    name,
                    format!("`{text}` is the field name of the unnamed layer at position {index}; choose another name"),
                );
            }
        }
    }
}

/// A dimension from an expression: a positive integer literal, or any other expression
/// (a named `const`) left to the compiler.
fn dim(cx: &mut Ctxt, expr: &Expr) -> Option<Dim> {
    let text = display_tokens(expr);
    match expr {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Int(int) => match int.base10_parse::<u64>() {
                Ok(0) => {
                    cx.error_spanned_by(int, "a size of 0: every size must be at least 1");
                    None
                }
                Ok(value) if value > MAX_SIZE => {
                    cx.error_spanned_by(
                        int,
                        format!(
                            "`{text}` is too large for a size: one sample's tensor lives on the stack, so sizes stop at {MAX_SIZE} (16 Mi values, 64 MiB)"
                        ),
                    );
                    None
                }
                Ok(value) => {
                    let mut token = Literal::u64_unsuffixed(value);
                    token.set_span(int.span());
                    Some(Dim {
                        value: Some(value),
                        tokens: token.into_token_stream(),
                        text,
                    })
                }
                Err(_) => {
                    cx.error_spanned_by(int, format!("`{text}` is not a size: sizes are whole numbers"));
                    None
                }
            },
            _ => {
                cx.error_spanned_by(literal, format!("`{text}` is not a size: sizes are whole numbers"));
                None
            }
        },
        // `{ HIDDEN * 2 }`: the braces are the user's, and rustc warns of unused braces where
        // generated code puts them in an array length; braces of our own it leaves alone.
        Expr::Block(block) if block.block.stmts.len() == 1 => match &block.block.stmts[0] {
            syn::Stmt::Expr(inner, None) => Some(Dim {
                value: None,
                tokens: quote!({ #inner }),
                text,
            }),
            _ => Some(Dim {
                value: None,
                tokens: quote!({ #block }),
                text,
            }),
        },
        other => Some(Dim {
            value: None,
            tokens: quote!({ #other }),
            text,
        }),
    }
}

/// A dimension already reported as wrong: unknown, so it causes no further errors.
fn unknown_dim(_expr: &Expr) -> Dim {
    Dim {
        value: None,
        tokens: quote!(1),
        text: "?".into(),
    }
}

/// A dimension from a generic argument: `784`, `HIDDEN` (parsed as a type) or `{ 2 * HIDDEN }`.
fn generic_dim(cx: &mut Ctxt, arg: &GenericArgument) -> Option<Dim> {
    match arg {
        GenericArgument::Const(expr) => dim(cx, expr),
        GenericArgument::Type(Type::Path(path)) if path.qself.is_none() => Some(Dim {
            value: None,
            tokens: quote!({ #path }),
            text: display_tokens(path),
        }),
        other => {
            cx.error_spanned_by(
                other,
                format!("`{}` is not a size: write a number or a `const`", display_tokens(other)),
            );
            None
        }
    }
}

fn generic_args(arguments: &PathArguments) -> Vec<&GenericArgument> {
    match arguments {
        PathArguments::AngleBracketed(generics) => generics.args.iter().collect(),
        _ => Vec::new(),
    }
}

/// The product of known dimensions, if every one is a literal.
fn product(dims: &[Dim]) -> Option<u64> {
    dims.iter()
        .try_fold(1u64, |acc, dim| dim.value.and_then(|v| acc.checked_mul(v)))
}

/// The product as a dimension: a literal when every factor is one, else an expression.
fn product_dim(dims: &[Dim]) -> Dim {
    let text = dims.iter().map(|d| d.text.as_str()).collect::<Vec<_>>().join(" * ");
    match product(dims) {
        Some(value) => Dim {
            value: Some(value),
            tokens: Literal::u64_unsuffixed(value).into_token_stream(),
            text: value.to_string(),
        },
        None => {
            let factors = dims.iter().map(|d| &d.tokens);
            Dim {
                value: None,
                tokens: quote!({ 1 #(* #factors)* }),
                text,
            }
        }
    }
}

/// `[f32; N]`, `[[f32; W]; H]` or `[[[f32; W]; H]; C]`.
fn shape_ty(shape: &Shape) -> TokenStream {
    match shape {
        Shape::Tokens(length) => {
            let tokens = &length.tokens;
            quote!([usize; #tokens])
        }
        Shape::Known(dims) => dims.iter().rev().fold(quote!(f32), |inner, dim| {
            let tokens = &dim.tokens;
            quote!([#inner; #tokens])
        }),
        Shape::Opaque => unreachable!("an opaque shape's type comes from its layer"),
    }
}

fn shape_text(shape: &Shape) -> String {
    match shape {
        Shape::Known(dims) => format!(
            "[{}]",
            dims.iter().map(|d| d.text.as_str()).collect::<Vec<_>>().join(", ")
        ),
        Shape::Tokens(length) => format!("[usize; {}]", length.text),
        Shape::Opaque => "?".into(),
    }
}

/// A built-in layer whose name differs from `name` only by case or by at most two edits.
fn similar_built_in(name: &str) -> Option<&'static str> {
    BuiltIn::ALL
        .into_iter()
        .map(BuiltIn::name)
        .find(|known| known.eq_ignore_ascii_case(name) || edit_distance(known, name) <= 2.min(known.len() / 3))
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
