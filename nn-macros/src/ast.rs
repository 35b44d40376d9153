//! Parses `network! { <attrs> <vis> struct <Name>: <input shape> => <layer> -> <layer> ... }`
//! into a small model; no shape is judged here.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, Attribute, Expr, Ident, Path, Token, Visibility};

/// A whole `network!` declaration.
pub struct Network {
    pub header: Header,
    /// The per-sample input shape, `[N]`, `[H, W]` or `[C, H, W]`.
    pub input: Vec<Expr>,
    /// Span of the input shape's brackets.
    pub input_span: Span,
    pub layers: Vec<LayerDecl>,
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
            Ok((input_shape, input_span, layers)) => Ok(Parsed::Network(Network {
                header,
                input: input_shape,
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

/// `: [dims] => layer -> layer ...`, with messages that say what to write.
fn parse_body(input: ParseStream<'_>, name: &Ident) -> syn::Result<(Vec<Expr>, Span, Vec<LayerDecl>)> {
    const SHAPES: &str = "`[N]`, `[H, W]` or `[C, H, W]`";
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
    let dims = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
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
    let mut layers = vec![parse_layer(input, "`=>`")?];
    while !input.is_empty() {
        if !input.peek(Token![->]) {
            let previous = layers.last().map(LayerDecl::display).unwrap_or_default();
            return Err(input.error(format!(
                "expected `->` between `{previous}` and `{}`\n= help: layers are chained with `->`: `{previous} -> {}`",
                next_token(input),
                next_token(input)
            )));
        }
        let arrow = input.parse::<Token![->]>()?;
        if input.is_empty() {
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
        layers.push(parse_layer(input, "`->`")?);
    }
    Ok((dims.into_iter().collect(), bracket.span.join(), layers))
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
fn take_crate_path(attrs: &mut Vec<Attribute>) -> syn::Result<Path> {
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
