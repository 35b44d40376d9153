//! Parses `network! { <attrs> <vis> struct <Name>: <input shape> => <layer> -> <layer> ... }`
//! into a small model; no shape is judged here.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, Attribute, Expr, Ident, Path, Token, Visibility};

/// A whole `network!` declaration.
pub struct Network {
    pub header: Header,
    /// The per-sample input shape, `[N]`, `[H, W]` or `[C, H, W]`; for token ids `[usize; T]`,
    /// the one dimension `T`.
    pub input: Vec<Expr>,
    /// Whether the input is a sequence of token ids, `[usize; T]`, rather than `f32` values.
    pub token_input: bool,
    /// Token ids written with another type (`[u16; T]`): reported by the check, which reads
    /// the input as `[usize; T]` so that the rest is checked as usual.
    pub token_type: Option<Ident>,
    /// Span of the input shape's brackets.
    pub input_span: Span,
    pub layers: Vec<Node>,
}

/// One link of a chain: a layer, or a block of chains.
pub enum Node {
    Layer(LayerDecl),
    Block(BlockDecl),
}

impl Node {
    /// The name given with `name:`, if any.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Node::Layer(layer) => layer.name.as_ref(),
            Node::Block(block) => block.name.as_ref(),
        }
    }

    /// The node as a user wrote it, shortened for messages: `Linear<784, 128>`, `Residual {..}`.
    pub fn display(&self) -> String {
        match self {
            Node::Layer(layer) => layer.display(),
            Node::Block(block) => format!("{} {{..}}", block.keyword),
        }
    }
}

/// Which block a `Keyword { .. }` node is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `Residual { body [, shortcut: chain] }`: the body's output added to the input (or to
    /// the shortcut's output).
    Residual,
    /// `Concat { chain, chain, .. }`: every branch applied to the input, outputs concatenated.
    Concat,
}

impl BlockKind {
    fn from_ident(ident: &Ident) -> Option<BlockKind> {
        match ident.to_string().as_str() {
            "Residual" => Some(BlockKind::Residual),
            "Concat" => Some(BlockKind::Concat),
            _ => None,
        }
    }
}

/// `name: Residual { .. }` or `Concat { .. }`.
pub struct BlockDecl {
    pub name: Option<Ident>,
    pub kind: BlockKind,
    /// `Residual` or `Concat` as written, for spans and messages.
    pub keyword: Ident,
    /// Span of the braces.
    pub brace_span: Span,
    /// `Residual`: the body, then the shortcut if there is one. `Concat`: the branches.
    pub chains: Vec<Vec<Node>>,
}

/// One link of the chain: `fc1: Linear<784, 128>` or `ReLU`.
pub struct LayerDecl {
    /// The name given with `name:`, if any.
    pub name: Option<Ident>,
    /// The layer's type as written, generic arguments included.
    pub path: Path,
    /// Constructor arguments written in parentheses, as in `Dropout(0.5)`.
    pub args: Option<Punctuated<Expr, Token![,]>>,
}

impl LayerDecl {
    /// The last path segment's identifier (`Linear` for `nn::Linear<1, 2>`).
    pub fn ident(&self) -> &Ident {
        &self.path.segments.last().expect("a parsed path has a segment").ident
    }

    /// The layer as a user wrote it, spaced as rustfmt would: `Linear<784, 128>`.
    pub fn display(&self) -> String {
        let segments: Vec<String> = self
            .path
            .segments
            .iter()
            .map(|segment| match &segment.arguments {
                syn::PathArguments::AngleBracketed(args) => {
                    let args: Vec<String> = args.args.iter().map(display_tokens).collect();
                    format!("{}<{}>", segment.ident, args.join(", "))
                }
                _ => segment.ident.to_string(),
            })
            .collect();
        let args = self.args.as_ref().map(|args| {
            let args: Vec<String> = args.iter().map(display_tokens).collect();
            format!("({})", args.join(", "))
        });
        segments.join("::") + &args.unwrap_or_default()
    }
}

/// Tokens as text without the spaces `to_string` puts between every token.
pub fn display_tokens(tokens: &impl quote::ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    text.replace(" , ", ", ")
        .replace(" :: ", "::")
        .replace("< ", "<")
        .replace(" >", ">")
}

/// What the parser produced: a whole declaration, or the error that stopped it together with
/// as much of the header as was read, so the fallback can still declare the struct.
pub enum Parsed {
    Network(Network),
    Error { header: Option<Header>, error: syn::Error },
}

/// `<attrs> <vis> struct <Name>`: enough to emit a stand-in struct after an error.
pub struct Header {
    /// Attributes and doc comments to put on the struct (without `#[nn(..)]`).
    pub attrs: Vec<Attribute>,
    /// Path of the `nn` crate for generated code (`#[nn(crate = path)]`, default `::nn`).
    pub krate: Path,
    pub vis: Visibility,
    pub name: Ident,
}

impl Parse for Parsed {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let header = match parse_header(input) {
            Ok(header) => header,
            Err(error) => return skip_rest(input, None, error),
        };
        match parse_body(input, &header.name.clone()) {
            Ok((input_shape, token_type, input_span, layers)) => Ok(Parsed::Network(Network {
                header,
                input: input_shape,
                token_input: token_type.is_some(),
                token_type: token_type.filter(|element| element != "usize"),
                input_span,
                layers,
            })),
            Err(error) => skip_rest(input, Some(header), error),
        }
    }
}

/// Consumes what is left after a syntax error (so the parse as a whole succeeds) and returns it.
fn skip_rest(input: ParseStream<'_>, header: Option<Header>, error: syn::Error) -> syn::Result<Parsed> {
    input.parse::<proc_macro2::TokenStream>()?;
    Ok(Parsed::Error { header, error })
}

fn parse_header(input: ParseStream<'_>) -> syn::Result<Header> {
    let mut attrs = input.call(Attribute::parse_outer)?;
    let krate = take_crate_path(&mut attrs)?;
    let vis: Visibility = input.parse()?;
    if !input.peek(Token![struct]) {
        return Err(input.error("expected `struct <Name>: <input shape> => <layer> -> ...`"));
    }
    input.parse::<Token![struct]>()?;
    let name: Ident = input.parse()?;
    Ok(Header {
        attrs,
        krate,
        vis,
        name,
    })
}

/// `: [dims] => layer -> layer ...` (or `: [usize; T] => ...`), with messages that say what to
/// write; returns the dimensions, the element type of token ids, the shape's span and the layers.
#[allow(clippy::type_complexity)]
fn parse_body(input: ParseStream<'_>, name: &Ident) -> syn::Result<(Vec<Expr>, Option<Ident>, Span, Vec<Node>)> {
    const SHAPES: &str = "`[N]`, `[H, W]` or `[C, H, W]` (or token ids, `[usize; T]`)";
    if !input.peek(Token![:]) {
        return Err(input.error(format!(
            "expected `:` and the input shape after `{name}`\n= help: write `struct {name}: [784] => ...` with the shape of one sample: {SHAPES}"
        )));
    }
    input.parse::<Token![:]>()?;
    if !input.peek(syn::token::Bracket) {
        return Err(input.error(format!(
            "expected the input shape of one sample, {SHAPES}, after `{name}:`"
        )));
    }
    let content;
    let bracket = bracketed!(content in input);
    let mut token_type = None;
    let dims = if content.peek(Ident) && content.peek2(Token![;]) {
        token_type = Some(content.parse::<Ident>()?);
        content.parse::<Token![;]>()?;
        let length: Expr = content.parse()?;
        if !content.is_empty() {
            return Err(content.error("expected `]` after the sequence length of `[usize; T]`"));
        }
        Punctuated::<Expr, Token![,]>::from_iter([length])
    } else {
        Punctuated::<Expr, Token![,]>::parse_terminated(&content)?
    };
    if !input.peek(Token![=>]) {
        let found = if input.is_empty() {
            "the end of the declaration".to_string()
        } else {
            format!("`{}`", next_token(input))
        };
        return Err(input.error(format!(
            "expected `=>` between the input shape and the first layer, found {found}\n= help: write `{name}: [..] => <layer> -> <layer> ...`"
        )));
    }
    let arrow = input.parse::<Token![=>]>()?;
    if input.is_empty() {
        return Err(syn::Error::new_spanned(
            arrow,
            "the network has no layers: write at least one layer after `=>`, such as `Linear<784, 10>`",
        ));
    }
    let layers = parse_chain(input, "`=>`", false)?;
    Ok((dims.into_iter().collect(), token_type, bracket.span.join(), layers))
}

/// `node -> node -> ...` up to the end of `input`, or, inside a block, up to a `,`.
fn parse_chain(input: ParseStream<'_>, after: &str, in_block: bool) -> syn::Result<Vec<Node>> {
    let ends = |input: ParseStream<'_>| input.is_empty() || (in_block && input.peek(Token![,]));
    let mut nodes = vec![parse_node(input, after)?];
    while !ends(input) {
        if !input.peek(Token![->]) {
            let previous = nodes.last().map(Node::display).unwrap_or_default();
            let help = if in_block {
                format!(
                    "layers are chained with `->`: `{previous} -> {}`; paths of a block are separated by `,`",
                    next_token(input)
                )
            } else {
                format!("layers are chained with `->`: `{previous} -> {}`", next_token(input))
            };
            return Err(input.error(format!(
                "expected `->` between `{previous}` and `{}`\n= help: {help}",
                next_token(input),
            )));
        }
        let arrow = input.parse::<Token![->]>()?;
        if ends(input) {
            return Err(syn::Error::new_spanned(
                arrow,
                "a `->` at the end of the chain must be followed by a layer\n= help: remove the trailing `->`",
            ));
        }
        if input.peek(Token![->]) {
            return Err(syn::Error::new_spanned(
                arrow,
                "`->` written twice\n= help: remove one `->`",
            ));
        }
        nodes.push(parse_node(input, "`->`")?);
    }
    Ok(nodes)
}

/// A layer or a block.
fn parse_node(input: ParseStream<'_>, after: &str) -> syn::Result<Node> {
    let named = input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]);
    let fork = input.fork();
    if named {
        fork.parse::<Ident>()?;
        fork.parse::<Token![:]>()?;
    }
    let block = fork.peek(Ident) && fork.peek2(syn::token::Brace);
    if !block {
        return parse_layer(input, after).map(Node::Layer);
    }
    let name = if named {
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        Some(name)
    } else {
        None
    };
    let keyword: Ident = input.parse()?;
    let Some(kind) = BlockKind::from_ident(&keyword) else {
        return Err(syn::Error::new_spanned(
            &keyword,
            format!("`{keyword} {{ .. }}` is not a block; the blocks are `Residual {{ .. }}` and `Concat {{ .. }}`"),
        ));
    };
    let content;
    let brace = syn::braced!(content in input);
    let brace_span = brace.span.join();
    if content.is_empty() {
        let example = match kind {
            BlockKind::Residual => "Residual { Linear<64, 64> -> ReLU }",
            BlockKind::Concat => "Concat { Linear<64, 32>, Linear<64, 16> }",
        };
        return Err(syn::Error::new(
            brace_span,
            format!("`{keyword} {{ }}` holds no layers\n= help: write a chain inside the braces: `{example}`"),
        ));
    }
    // An error inside the braces must leave them consumed: syn reports a group with tokens left
    // over as "unexpected token" in place of the error that stopped the parse.
    let chains = match parse_block_paths(&content, kind) {
        Ok(chains) => chains,
        Err(error) => {
            content.parse::<proc_macro2::TokenStream>()?;
            return Err(error);
        }
    };
    if kind == BlockKind::Concat && chains.len() > 4 {
        return Err(syn::Error::new(
            brace_span,
            format!("`{keyword}` joins at most four branches, but has {}\n= help: nest them: `Concat {{ Concat {{ a, b }}, c, d, e }}`", chains.len()),
        ));
    }
    if kind == BlockKind::Concat && chains.len() < 2 {
        return Err(syn::Error::new(
            brace_span,
            format!("`{keyword}` joins two or more branches, but has one\n= help: separate the branches with `,`: `Concat {{ Linear<64, 32>, Linear<64, 16> }}`"),
        ));
    }
    Ok(Node::Block(BlockDecl {
        name,
        kind,
        keyword,
        brace_span,
        chains,
    }))
}

/// The paths inside a block's braces: `chain [, shortcut: chain]` or `chain, chain, ..`.
fn parse_block_paths(content: ParseStream<'_>, kind: BlockKind) -> syn::Result<Vec<Vec<Node>>> {
    let mut chains = vec![parse_chain(content, "`{`", true)?];
    while content.peek(Token![,]) {
        let comma = content.parse::<Token![,]>()?;
        if content.is_empty() {
            break;
        }
        if kind == BlockKind::Residual {
            if chains.len() == 2 {
                return Err(syn::Error::new_spanned(
                    comma,
                    "a `Residual` block has at most two paths: its body and its shortcut\n= help: remove this `,` and what follows, or use `Concat { .. }` for parallel branches",
                ));
            }
            let label = content.fork().parse::<Ident>().ok();
            if label.as_ref().is_some_and(|label| label == "shortcut") && content.peek2(Token![:]) {
                content.parse::<Ident>()?;
                content.parse::<Token![:]>()?;
            } else {
                return Err(content.error(format!(
                    "the second path of a `Residual` block is its shortcut and is labelled `shortcut:`, found `{}`\n= help: write `Residual {{ <body>, shortcut: <chain> }}`, or `Concat {{ .. }}` for parallel branches",
                    next_token(content)
                )));
            }
            chains.push(parse_chain(content, "`shortcut:`", true)?);
        } else {
            chains.push(parse_chain(content, "`,`", true)?);
        }
    }
    Ok(chains)
}

/// One layer, or an error saying a layer was expected after `after`.
fn parse_layer(input: ParseStream<'_>, after: &str) -> syn::Result<LayerDecl> {
    if !(input.peek(Ident)
        || input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![self])
        || input.peek(Token![super]))
    {
        return Err(input.error(format!(
            "expected a layer after {after}, found `{}`; a layer is a type such as `Linear<784, 128>` or `ReLU`",
            next_token(input)
        )));
    }
    input.parse()
}

/// The next token as text, for messages.
fn next_token(input: ParseStream<'_>) -> String {
    input
        .fork()
        .parse::<proc_macro2::TokenTree>()
        .map(|token| token.to_string())
        .unwrap_or_default()
}

impl Parse for LayerDecl {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(name)
        } else {
            None
        };
        let path: Path = input.parse()?;
        let args = if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            Some(Punctuated::parse_terminated(&content)?)
        } else {
            None
        };
        Ok(LayerDecl { name, path, args })
    }
}

/// Removes `#[nn(crate = path)]` from `attrs` and returns the path (`::nn` if absent).
pub(crate) fn take_crate_path(attrs: &mut Vec<Attribute>) -> syn::Result<Path> {
    let mut krate: Path = syn::parse_quote!(::nn);
    let mut result = Ok(());
    attrs.retain(|attr| {
        if !attr.path().is_ident("nn") {
            return true;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = meta.value()?.parse()?;
                Ok(())
            } else {
                Err(meta.error("unknown `nn` option; the only one is `crate = path`"))
            }
        });
        if let Err(error) = parsed {
            result = Err(error);
        }
        false
    });
    result
        .map(|()| krate)
        .map_err(|error| syn::Error::new(error.span(), error.to_string()))
}
