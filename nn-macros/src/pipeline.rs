//! The whole expansion as a function of `proc_macro2` tokens, so unit tests and benchmarks can
//! run it outside a compiler.

use proc_macro2::TokenStream;

use crate::ast::Parsed;
use crate::{check, expand, fallback};

/// Expands the body of `network! { .. }`.
pub fn network(input: TokenStream) -> TokenStream {
    match syn::parse2::<Parsed>(input) {
        Ok(Parsed::Network(declaration)) => match check::check(&declaration) {
            Ok(checked) => expand::expand(&declaration, &checked),
            Err(mistakes) => fallback::expand(Some(&declaration.header), mistakes.errors, mistakes.types),
        },
        Ok(Parsed::Error { header, error }) => fallback::expand(header.as_ref(), vec![error], None),
        Err(error) => fallback::expand(None, vec![error], None),
    }
}
