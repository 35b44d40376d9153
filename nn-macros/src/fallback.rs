//! What the macro emits when the declaration has errors: the errors, plus a stand-in struct of
//! the same name with the inherent API's names, so code that uses the network does not add
//! "cannot find type" or "no function named `init`" errors to the real one (as thiserror's
//! `fallback.rs` does). The stand-in never runs: the crate does not compile.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Header;

/// The errors as `compile_error!`s and, when the header was read, a stand-in struct; `types`
/// are the input and output of `forward` when the macro knows them.
pub fn expand(
    header: Option<&Header>,
    errors: Vec<syn::Error>,
    types: Option<(TokenStream, TokenStream)>,
) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let Some(Header {
        attrs,
        krate,
        vis,
        name,
    }) = header
    else {
        return quote!(#(#errors)*);
    };
    let message = format!("`{name}` is a stand-in for a network! declaration with errors");
    // A typed result, not `!`: code after a call to `forward` is then not "unreachable".
    let forward = match types {
        Some((input, output)) => quote! {
            pub fn forward(&self, input: &#input) -> #output {
                ::core::unreachable!(#message)
            }
        },
        None => quote! {
            pub fn forward<__Input, __Output>(&self, input: &__Input) -> __Output {
                ::core::unreachable!(#message)
            }
        },
    };
    quote! {
        #(#errors)*
        #(#attrs)*
        #vis struct #name;

        const _: () = {
            #[allow(dead_code, unused_variables, clippy::all)]
            impl #name {
                pub const NUM_PARAMS: usize = 0;
                pub fn init(seed: u64) -> Self {
                    ::core::unreachable!(#message)
                }
                #forward
                pub fn summary(&self) -> #krate::__private::String {
                    ::core::unreachable!(#message)
                }
                pub fn save<__Path>(&self, path: __Path) -> #krate::__private::Result<()> {
                    ::core::unreachable!(#message)
                }
                pub fn load<__Path>(path: __Path) -> #krate::__private::Result<Self> {
                    ::core::unreachable!(#message)
                }
                pub fn load_from<__Path, __Options>(&mut self, path: __Path, options: __Options) -> #krate::__private::Result<#krate::__private::io::LoadReport> {
                    ::core::unreachable!(#message)
                }
            }
        };
    }
}
