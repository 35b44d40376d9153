//! Snapshot tests of generated code: every change to what the macro emits shows up in review
//! as a diff of `nn-macros/tests/expand/*.expanded.rs`. Regenerate with
//! `UPDATE_EXPAND=1 cargo test -p nn-macros`.

use std::path::PathBuf;

use quote::quote;

fn check_snapshot(name: &str, input: proc_macro2::TokenStream) {
    let expanded = crate::pipeline::network(input);
    let file = syn::parse2::<syn::File>(expanded).expect("the expansion is valid Rust");
    let pretty = prettyplease::unparse(&file);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expand")
        .join(format!("{name}.expanded.rs"));
    if std::env::var_os("UPDATE_EXPAND").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &pretty).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        pretty == expected,
        "the expansion of `{name}` changed; review it with `UPDATE_EXPAND=1 cargo test -p nn-macros` \
         and `git diff {}`",
        path.display()
    );
}

#[test]
fn seed_network() {
    check_snapshot(
        "seed_network",
        quote! {
            /// The classic MNIST classifier.
            pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
        },
    );
}

#[test]
fn named_layers_const_sizes_and_custom_layers() {
    check_snapshot(
        "named_const_custom",
        quote! {
            #[nn(crate = ::my_nn)]
            struct Mixed: [HEIGHT, 8] => Flatten -> fc1: Linear<{ HEIGHT * 8 }, HIDDEN> -> Tanh -> encoder: my::Encoder -> head: Linear<16, 2>
        },
    );
}

#[test]
fn lenet() {
    check_snapshot(
        "lenet",
        quote! {
            pub struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
        },
    );
}

#[test]
fn fallback_after_an_error() {
    check_snapshot(
        "fallback",
        quote! {
            pub struct Broken: [28, 28] => Flatten -> Linear<780, 10>
        },
    );
}
