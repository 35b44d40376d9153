//! safetensors round trips and the errors of a weights file that does not fit.

use nn::prelude::*;

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

network! {
    /// Same sizes as `MnistMlp` but with named layers, so different keys.
    struct NamedMlp: [28, 28] => Flatten -> fc1: Linear<784, 128> -> ReLU -> fc2: Linear<128, 64> -> ReLU -> head: Linear<64, 10>
}

network! {
    struct WideHead: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 12>
}

/// Every parameter as (key, shape, bit patterns), for exact comparison.
fn params_bits(module: &impl Module) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    let mut all = Vec::new();
    module.visit_params("", &mut |key, shape, values| {
        all.push((
            key.to_string(),
            shape.to_vec(),
            values.iter().map(|v| v.to_bits()).collect(),
        ));
    });
    all
}

#[test]
fn save_then_load_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mnist.safetensors");
    let net = MnistMlp::init(7);
    net.save(&path).unwrap();
    let loaded = MnistMlp::load(&path).unwrap();
    assert_eq!(params_bits(&loaded), params_bits(&net));
    let keys: Vec<String> = params_bits(&net).into_iter().map(|(key, ..)| key).collect();
    // The keys torch.save(nn.Sequential(...).state_dict()) uses for the seed chain.
    assert_eq!(keys, ["1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"]);
    let no_leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        no_leftovers,
        ["mnist.safetensors"],
        "the temporary file was renamed away"
    );
}

#[test]
fn named_layers_use_their_names_as_keys() {
    let keys: Vec<String> = params_bits(&NamedMlp::init(0))
        .into_iter()
        .map(|(key, ..)| key)
        .collect();
    assert_eq!(
        keys,
        [
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "head.weight",
            "head.bias"
        ]
    );
}

#[test]
fn init_is_deterministic_and_seed_dependent() {
    assert_eq!(params_bits(&MnistMlp::init(3)), params_bits(&MnistMlp::init(3)));
    assert_ne!(params_bits(&MnistMlp::init(3)), params_bits(&MnistMlp::init(4)));
}

#[test]
fn init_follows_torch_default_bounds() {
    // nn.Linear(in, out): weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)).
    let net = MnistMlp::init(0);
    for (key, shape, bits) in params_bits(&net) {
        let fan_in = if key.starts_with('1') {
            784.0f32
        } else if key.starts_with('3') {
            128.0
        } else {
            64.0
        };
        let bound = 1.0 / fan_in.sqrt();
        let values: Vec<f32> = bits.into_iter().map(f32::from_bits).collect();
        assert!(
            values.iter().all(|v| v.abs() <= bound),
            "{key} {shape:?} outside +-{bound}"
        );
        let largest = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            largest > 0.9 * bound,
            "{key}: values should fill the range, largest {largest}"
        );
    }
}

#[test]
fn different_keys_are_listed_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("named.safetensors");
    NamedMlp::init(0).save(&path).unwrap();
    let error = MnistMlp::load(&path).unwrap_err().to_string();
    assert!(error.contains("named.safetensors"), "{error}");
    assert!(
        error.contains("`1.weight` missing (expected f32 [128, 784])"),
        "{error}"
    );
    assert!(error.contains("`fc1.weight` unexpected"), "{error}");
}

#[test]
fn wrong_shapes_are_listed_with_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.safetensors");
    WideHead::init(0).save(&path).unwrap();
    let error = MnistMlp::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("`5.weight` has shape [12, 64], expected [10, 64]"),
        "{error}"
    );
    assert!(error.contains("`5.bias` has shape [12], expected [10]"), "{error}");
}

#[test]
fn a_file_that_is_not_safetensors_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.safetensors");
    std::fs::write(&path, b"this is not a weights file").unwrap();
    let error = MnistMlp::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("garbage.safetensors: not a valid safetensors file"),
        "{error}"
    );
    let missing = MnistMlp::load(dir.path().join("absent.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("absent.safetensors"), "{missing}");
}
