//! Parses `network! { <attrs> <vis> struct <Name>: <input shape> => <layer> -> <layer> ... }`
//! into a small model; no shape is judged here.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, Attribute, Expr, Ident, Path, Token, Visibility};

/// A whole `network!` declaration.
pub struct Network {
    /// Attributes and doc comments to put on the struct (without `#[nn(..)]`).
    pub attrs: Vec<Attribute>,
    /// Path of the `nn` crate for generated code (`#[nn(crate = path)]`, default `::nn`).
    pub krate: Path,
    pub vis: Visibility,
    pub name: Ident,
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
        segments.join("::")
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

impl Parse for Network {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let krate = take_crate_path(&mut attrs)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let content;
        let bracket = bracketed!(content in input);
        let dims = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
        input.parse::<Token![=>]>()?;
        let mut layers = vec![input.parse::<LayerDecl>()?];
        while !input.is_empty() {
            input.parse::<Token![->]>()?;
            layers.push(input.parse()?);
        }
        Ok(Network {
            attrs,
            krate,
            vis,
            name,
            input: dims.into_iter().collect(),
            input_span: bracket.span.join(),
            layers,
        })
    }
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
        Ok(LayerDecl { name, path })
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
