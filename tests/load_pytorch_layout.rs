//! Loading a PyTorch model laid out as the MNIST tutorial lays it out (`self.flatten`, then
//! `self.linear_relu_stack = nn.Sequential(..)`: keys `linear_relu_stack.0.*`, `.2.*`, `.4.*`)
//! into a `network!` chain whose `Flatten` is layer 0 (keys `1.*`, `3.*`, `5.*`), with one
//! line; and the errors of a load that loads nothing. The fixture is written by
//! `tools/make_tutorial_fixture.py` (16 hidden units; the tutorial's 512 give the same keys).

mod common;

use common::{assert_close, Fixture};
use nn::io::LoadOptions;
use nn::prelude::*;

network! {
    /// PyTorch's tutorial `NeuralNetwork` with 16 hidden units instead of 512.
    struct Tutorial: [28, 28] => Flatten -> Linear<784, 16> -> ReLU -> Linear<16, 16> -> ReLU -> Linear<16, 10>
}

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tutorial_mlp_torch.safetensors"
);

#[test]
fn the_tutorial_layout_loads_with_one_line_and_gives_pytorchs_logits() {
    let net: Tutorial = LoadOptions::strict()
        .sequential("linear_relu_stack", 1)
        .load(MODEL)
        .unwrap();
    let io = Fixture::open("tutorial_mlp_torch_io.safetensors");
    let input: Vec<[[f32; 28]; 28]> = io.batch("input");
    // logits = model(input)   (torch.no_grad())
    let (expected, shape) = io.f32("logits");
    assert_eq!(shape, [3, 10]);
    let logits: Vec<f32> = input.iter().flat_map(|x| net.forward(x)).collect();
    assert_close(&logits, &expected, 1e-5, "logits of the tutorial model");
}

#[test]
fn the_same_option_loads_into_a_built_network_and_reports_it_complete() {
    let mut net = Tutorial::init(0);
    let options = LoadOptions::strict().sequential("linear_relu_stack.", 1);
    let report = net.load_from(MODEL, &options).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        report.loaded,
        ["1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"]
    );
    assert_eq!(report.to_string(), "loaded 6 of 6 parameters");
}

#[test]
fn without_the_mapping_strict_loading_names_the_keys() {
    let error = Tutorial::load(MODEL).unwrap_err().to_string();
    assert!(error.contains("tutorial_mlp_torch.safetensors"), "{error}");
    assert!(error.contains("`1.weight` missing"), "{error}");
    assert!(error.contains("`linear_relu_stack.0.weight` unexpected"), "{error}");
    assert!(error.contains("no key matches"), "{error}");
}

#[test]
fn a_partial_load_that_loads_nothing_is_an_error_naming_both_layouts() {
    let mut net = Tutorial::init(0);
    let before = net.forward(&[[0.5; 28]; 28]);
    let error = net.load_from(MODEL, &LoadOptions::partial()).unwrap_err().to_string();
    assert!(error.contains("tutorial_mlp_torch.safetensors"), "{error}");
    assert!(error.contains("no parameter loaded"), "{error}");
    assert!(error.contains("`linear_relu_stack.0.bias`"), "{error}");
    assert!(error.contains("`1.bias`"), "{error}");
    assert!(error.contains("(6 in all)"), "{error}");
    assert!(error.contains("LoadOptions::sequential"), "{error}");
    assert_eq!(net.forward(&[[0.5; 28]; 28]), before, "nothing changed");

    // A wrong offset maps the file onto 0, 2, 4, not ours: still nothing loaded.
    let error = net
        .load_from(MODEL, &LoadOptions::partial().sequential("linear_relu_stack", 0))
        .unwrap_err()
        .to_string();
    assert!(error.contains("no parameter loaded"), "{error}");
    assert!(error.contains("after renaming: `0.bias`"), "{error}");
}

#[test]
fn a_partial_report_prints_what_it_skipped() {
    network! {
        /// The tutorial's body with a 5-class head.
        struct FiveWay: [28, 28] => Flatten -> Linear<784, 16> -> ReLU -> Linear<16, 16> -> ReLU -> Linear<16, 5>
    }
    let mut net = FiveWay::init(0);
    let options = LoadOptions::partial().sequential("linear_relu_stack", 1);
    let report = net.load_from(MODEL, &options).unwrap();
    assert_eq!(report.loaded, ["1.weight", "1.bias", "3.weight", "3.bias"]);
    assert_eq!(
        report.to_string(),
        "loaded 4 of 6 parameters\n  `5.weight` has shape [10, 16] in the file, ours [5, 16]: kept as it was\n  \
         `5.bias` has shape [10] in the file, ours [5]: kept as it was"
    );

    // Built from the file alone, the head has nowhere to come from: an error, even partially.
    let error = options.load::<FiveWay>(MODEL).unwrap_err().to_string();
    assert!(
        error.contains("`5.weight` has shape [10, 16], expected [5, 16]"),
        "{error}"
    );
    assert!(error.contains("build the network first"), "{error}");
}

#[test]
fn renamings_apply_in_the_order_given() {
    // A model whose Sequential sits under `model.`: strip it, then shift.
    let mut renamed = LoadOptions::strict();
    renamed = renamed
        .rename(|key| Some(format!("model.{key}")))
        .replace_prefix("model.", "")
        .sequential("linear_relu_stack", 1);
    let net: Tutorial = renamed.load(MODEL).unwrap();
    let reference: Tutorial = LoadOptions::strict()
        .sequential("linear_relu_stack", 1)
        .load(MODEL)
        .unwrap();
    assert_eq!(net.forward(&[[0.25; 28]; 28]), reference.forward(&[[0.25; 28]; 28]));
}
