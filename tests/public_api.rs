//! The public API of `nn`, listed in `docs/public-api.txt`: one path a line, every item a user
//! can name (`nn::Linear`, `nn::data::Mnist`, ...). This test derives the list from the sources
//! (the re-exports of `src/lib.rs` and, for the modules it re-exports whole, the `pub` items and
//! re-exports of their files in `nn-runtime`) and fails when the file differs, so a change to
//! the API shows up in review as a change to that file. `UPDATE_PUBLIC_API=1 cargo test --test
//! public_api` rewrites it.
//!
//! What it guarantees: every path a user can name through `nn` (outside the hidden `__private`
//! module and the `prelude`, which repeats items listed here) is in the file, and nothing else.
//! What it does not list: methods, fields, trait impls and associated items (rustdoc shows
//! those); it reads declarations line by line (`pub use ...;` and `pub fn|struct|enum|trait|
//! const|type|mod NAME` at the start of a line), which is how this repository's sources are
//! formatted (rustfmt).

use std::collections::BTreeSet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The files of `nn-runtime` modules that `nn` re-exports whole.
const MODULES: [(&str, &str); 5] = [
    ("data", "nn-runtime/src/data/mod.rs"),
    ("loss", "nn-runtime/src/loss/mod.rs"),
    ("metrics", "nn-runtime/src/metrics.rs"),
    ("optim", "nn-runtime/src/optim/mod.rs"),
    ("train", "nn-runtime/src/train/mod.rs"),
];

/// The names a `pub use` statement brings in (`a::{b, c as d}` gives `b` and `d`).
fn use_names(statement: &str) -> Vec<String> {
    let path = statement
        .trim()
        .trim_start_matches("pub use")
        .trim()
        .trim_end_matches(';');
    let list = match path.find('{') {
        Some(open) => &path[open + 1..path.rfind('}').expect("a closing brace")],
        None => path,
    };
    list.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once(" as ") {
            Some((_, alias)) => alias.trim().to_string(),
            None => part.rsplit("::").next().unwrap().trim().to_string(),
        })
        .collect()
}

/// `(name, is_module)` of the public items declared at the top level of `source`, skipping
/// those marked `#[doc(hidden)]`. Stops at `stop`.
fn public_items(source: &str, stop: Option<&str>) -> Vec<(String, bool)> {
    let mut items = Vec::new();
    let mut hidden = false;
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if stop.is_some_and(|stop| line.starts_with(stop)) {
            break;
        }
        if line.starts_with("#[doc(hidden)]") {
            hidden = true;
            continue;
        }
        if line.starts_with("#[") || line.starts_with("///") {
            continue;
        }
        let was_hidden = std::mem::take(&mut hidden);
        if was_hidden {
            continue;
        }
        if line.starts_with("pub use ") {
            let mut statement = line.to_string();
            while !statement.trim_end().ends_with(';') {
                statement.push_str(lines.next().expect("a `pub use` ends with `;`"));
            }
            items.extend(use_names(&statement).into_iter().map(|name| (name, false)));
        } else if let Some(rest) = line.strip_prefix("pub ") {
            let mut words = rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty());
            let kind = words.next().unwrap_or_default();
            let kind = if kind == "unsafe" {
                words.next().unwrap_or_default()
            } else {
                kind
            };
            if let Some(name) = words.next() {
                if ["fn", "struct", "enum", "trait", "const", "type", "static", "mod"].contains(&kind) {
                    items.push((name.to_string(), kind == "mod"));
                }
            }
        }
    }
    items
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap()
}

fn listing() -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    let lib = read("src/lib.rs");
    for (name, is_mod) in public_items(&lib, Some("/// `use nn::prelude::*;`")) {
        paths.insert(format!("nn::{name}"));
        if let Some((_, file)) = MODULES.iter().find(|(module, _)| *module == name) {
            for (item, _) in public_items(&read(file), None) {
                paths.insert(format!("nn::{name}::{item}"));
            }
        } else if is_mod {
            // A module of the facade itself (`pub mod io { pub use ...; }`).
            let body = &lib[lib.find(&format!("pub mod {name} {{")).unwrap()..];
            let body = &body[..body.find("\n}").unwrap()];
            for line in body.lines().filter(|line| line.trim_start().starts_with("pub use ")) {
                for item in use_names(line) {
                    paths.insert(format!("nn::{name}::{item}"));
                }
            }
        }
    }
    paths
}

#[test]
fn public_api_listing_is_current() {
    let mut expected = String::from(
        "# The public API of the `nn` crate: every path a user can name (methods, fields and trait impls\n\
         # are not listed). Generated by tests/public_api.rs (UPDATE_PUBLIC_API=1); review changes.\n",
    );
    for path in listing() {
        expected.push_str(&path);
        expected.push('\n');
    }
    let file = Path::new(ROOT).join("docs/public-api.txt");
    if std::env::var_os("UPDATE_PUBLIC_API").is_some() {
        std::fs::write(&file, &expected).unwrap();
    }
    let found = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        found == expected,
        "docs/public-api.txt is not the public API; rerun with UPDATE_PUBLIC_API=1 and review the diff.\n\
         expected:\n{expected}"
    );
}

/// Items that the listing says are public are reachable under those paths (a sample of each
/// kind; the listing's parser is checked against the compiler here).
#[test]
fn listed_paths_resolve() {
    #[allow(unused_imports)]
    use nn::{
        data::{Dataset, InMemory, Mnist},
        elementwise_layer, evaluate,
        io::{load, load_with, save, LoadOptions, LoadReport},
        loss::CrossEntropy,
        max_threads,
        metrics::ConfusionMatrix,
        network, num_threads,
        optim::{Schedule, Sgd},
        set_num_threads,
        train::{EpochReport, Workspace},
        Elementwise, Error, Layer, Linear, Mode, Module, Result, Rng, Tensor, TrainReport, Trainer,
    };
    let listing = listing();
    for path in [
        "nn::data::Mnist",
        "nn::io::LoadOptions",
        "nn::train::Workspace",
        "nn::elementwise_layer",
        "nn::Module",
    ] {
        assert!(listing.contains(path), "{path} is missing from the listing");
    }
    for internal in [
        "nn::kernel",
        "nn::summary",
        "nn::prefix_mut",
        "nn::io::write_atomically",
        "nn::layer",
    ] {
        assert!(!listing.contains(internal), "{internal} is listed");
    }
}
