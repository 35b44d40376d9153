//! How long `network!` takes to expand: the seed network and a 50-layer network.
//!
//! Run with `cargo bench -p nn-macros --bench expand`. The macro's modules are compiled into
//! this program directly (a proc-macro crate exports nothing else), and the expansion runs on
//! `proc_macro2` tokens as in the unit tests. The reference in the same run is parsing the
//! expanded code with `syn`, the least any macro of that output size costs the compiler.

#![allow(dead_code, missing_docs)]

#[path = "../src/ast.rs"]
mod ast;
#[path = "../src/check.rs"]
mod check;
#[path = "../src/ctxt.rs"]
mod ctxt;
#[path = "../src/expand.rs"]
mod expand;
#[path = "../src/fallback.rs"]
mod fallback;
#[path = "../src/pipeline.rs"]
mod pipeline;

use std::str::FromStr;
use std::time::{Duration, Instant};

use proc_macro2::TokenStream;

/// The median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn report(name: &str, declaration: &str) {
    let input = TokenStream::from_str(declaration).expect("valid tokens");
    let expansion = pipeline::network(input.clone());
    assert!(
        !expansion.to_string().contains("compile_error"),
        "{name} must expand without errors"
    );
    let expand = median(201, || drop(pipeline::network(input.clone())));
    let text = expansion.to_string();
    let parse = median(201, || drop(syn::parse_str::<syn::File>(&text).expect("valid Rust")));
    println!(
        "{name:<16} expand {:>8.3} ms   syn parse of the output {:>8.3} ms   ratio {:.2}   ({} bytes generated)",
        expand.as_secs_f64() * 1e3,
        parse.as_secs_f64() * 1e3,
        expand.as_secs_f64() / parse.as_secs_f64(),
        text.len()
    );
}

fn main() {
    report(
        "seed network",
        "pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>",
    );
    let mut chain = String::from("pub struct Deep: [64] => Linear<64, 64>");
    for layer in 1..50 {
        chain.push_str(if layer % 2 == 1 {
            " -> ReLU"
        } else {
            " -> Linear<64, 64>"
        });
    }
    report("50 layers", &chain);
}
