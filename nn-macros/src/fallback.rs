//! What the macro emits when the declaration has errors: the errors, plus an empty struct of
//! the same name so that code using the network does not add "cannot find type" errors.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Network;

/// The errors as `compile_error!`s and a stand-in struct.
pub fn expand(network: &Network, errors: Vec<syn::Error>) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let Network { attrs, vis, name, .. } = network;
    quote! {
        #(#errors)*
        #(#attrs)*
        #vis struct #name;
    }
}
