//! safetensors I/O of modules with running statistics: `running_mean`/`running_var` saved as f32
//! buffers and `num_batches_tracked` as a 0-dimensional I64 tensor, as PyTorch stores them;
//! strict and partial loading of counters, and the errors of a counter of the wrong dtype.
//! (A checkpoint written by PyTorch is loaded in `tests/norm_parity.rs`.)

mod common;

use common::seq::Seq;
use nn::io::{load, load_with, save, LoadOptions};
use nn::loss::CrossEntropy;
use nn::prelude::*;
use nn::train::Workspace;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// `nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))`, keys `0.*` and `1.*`.
type LinearNorm = Seq<Linear<4, 3>, BatchNorm1d<3>>;

/// A `LinearNorm` after `steps` training steps, so its running statistics and counter are not
/// their initial values.
fn trained(steps: usize) -> LinearNorm {
    let mut net = LinearNorm::init_with(&mut nn::Rng::seed(3));
    let mut rng = nn::Rng::seed(4);
    let inputs: Vec<[f32; 4]> = (0..8)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 2.0)))
        .collect();
    let labels: Vec<usize> = (0..8).map(|i| i % 3).collect();
    let mut opt = Sgd::new(0.1);
    let mut workspace = Workspace::<LinearNorm, [f32; 4], usize>::new();
    for _ in 0..steps {
        workspace.train_step(&mut net, &CrossEntropy, &mut opt, &inputs, &labels);
    }
    net
}

/// Every f32 tensor and counter as (key, shape, bit patterns).
fn state_bits(module: &impl Module) -> Vec<(String, Vec<usize>, Vec<u64>)> {
    let mut all = Vec::new();
    module.visit_params("", &mut |key, shape, values| {
        let bits = values.iter().map(|v| u64::from(v.to_bits())).collect();
        all.push((key.to_string(), shape.to_vec(), bits));
    });
    module.visit_counters("", &mut |key, value| {
        all.push((key.to_string(), Vec::new(), vec![value as u64]))
    });
    all
}

/// Writes `tensors` (key, dtype, shape, little-endian bytes) as a safetensors file.
fn write_file(path: &std::path::Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(key, dtype, shape, bytes)| (*key, TensorView::new(*dtype, shape.clone(), bytes).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, &None).unwrap()).unwrap();
}

/// The state of `module` as safetensors entries (key, dtype, shape, little-endian bytes), as
/// `nn::io::save` writes them.
fn entries(module: &impl Module) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let mut all = Vec::new();
    module.visit_params("", &mut |key, shape, values| {
        all.push((
            key.to_string(),
            Dtype::F32,
            shape.to_vec(),
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ));
    });
    module.visit_counters("", &mut |key, value| {
        all.push((key.to_string(), Dtype::I64, Vec::new(), value.to_le_bytes().to_vec()))
    });
    all
}

fn write_entries(path: &std::path::Path, entries: &[(String, Dtype, Vec<usize>, Vec<u8>)]) {
    let borrowed: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = entries
        .iter()
        .map(|(k, d, s, b)| (k.as_str(), *d, s.clone(), b.clone()))
        .collect();
    write_file(path, &borrowed);
}

#[test]
fn save_then_load_keeps_running_statistics_and_the_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("norm.safetensors");
    let net = trained(3);
    assert_eq!(net.second.num_batches_tracked, 3);
    assert_ne!(*net.second.running_var, [1.0; 3], "training moved the running variance");
    save(&net, &path).unwrap();
    let loaded: LinearNorm = load(&path).unwrap();
    assert_eq!(state_bits(&loaded), state_bits(&net));

    // The state_dict keys of nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), in its order.
    let keys: Vec<String> = state_bits(&net).into_iter().map(|(key, ..)| key).collect();
    assert_eq!(
        keys,
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked"
        ]
    );
    // num_batches_tracked is stored as torch.save does: int64, 0-dimensional.
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let counter = file.tensor("1.num_batches_tracked").unwrap();
    assert_eq!(counter.dtype(), Dtype::I64);
    assert_eq!(counter.shape(), &[] as &[usize]);
    assert_eq!(counter.data(), 3i64.to_le_bytes());
    assert_eq!(file.tensor("1.running_var").unwrap().dtype(), Dtype::F32);
}

#[test]
fn a_counter_stored_as_f32_is_a_type_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f32_counter.safetensors");
    let mut tensors = entries(&trained(1));
    let counter = tensors
        .iter_mut()
        .find(|(key, ..)| key == "1.num_batches_tracked")
        .unwrap();
    *counter = (counter.0.clone(), Dtype::F32, Vec::new(), 1.0f32.to_le_bytes().to_vec());
    write_entries(&path, &tensors);
    for options in [LoadOptions::strict(), LoadOptions::partial()] {
        let error = load_with(&mut LinearNorm::zeros(), &path, &options)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`1.num_batches_tracked` is F32, expected I64"),
            "{error}"
        );
        assert!(
            !error.contains("unexpected"),
            "a wrong dtype is not also unexpected: {error}"
        );
    }
}

#[test]
fn a_buffer_stored_as_i64_is_a_type_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i64_buffer.safetensors");
    let mut tensors = entries(&trained(1));
    let buffer = tensors.iter_mut().find(|(key, ..)| key == "1.running_mean").unwrap();
    *buffer = (buffer.0.clone(), Dtype::I64, vec![3], vec![0; 24]);
    write_entries(&path, &tensors);
    let error = load::<LinearNorm>(&path).unwrap_err().to_string();
    assert!(error.contains("`1.running_mean` is I64, expected F32"), "{error}");
    assert!(!error.contains("unexpected"), "{error}");
}

#[test]
fn a_missing_counter_fails_strictly_and_is_reported_partially() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_counter.safetensors");
    let net = trained(2);
    let tensors: Vec<_> = entries(&net)
        .into_iter()
        .filter(|(key, ..)| key != "1.num_batches_tracked")
        .collect();
    write_entries(&path, &tensors);
    let error = load::<LinearNorm>(&path).unwrap_err().to_string();
    assert!(
        error.contains("`1.num_batches_tracked` missing (expected i64 [])"),
        "{error}"
    );

    let mut partial = LinearNorm::zeros();
    partial.second.num_batches_tracked = 42;
    let report = load_with(&mut partial, &path, &LoadOptions::partial()).unwrap();
    assert_eq!(report.missing, ["1.num_batches_tracked"]);
    assert!(report.unexpected.is_empty() && report.mismatched.is_empty());
    assert_eq!(
        partial.second.num_batches_tracked, 42,
        "a missing counter keeps its value"
    );
    assert_eq!(partial.second.running_mean, net.second.running_mean);
}

#[test]
fn an_unexpected_counter_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("extra.safetensors");
    let mut tensors = entries(&trained(1));
    tensors.push((
        "2.num_batches_tracked".to_string(),
        Dtype::I64,
        Vec::new(),
        5i64.to_le_bytes().to_vec(),
    ));
    write_entries(&path, &tensors);
    let error = load::<LinearNorm>(&path).unwrap_err().to_string();
    assert!(error.contains("`2.num_batches_tracked` unexpected"), "{error}");
    let report = load_with(&mut LinearNorm::zeros(), &path, &LoadOptions::partial()).unwrap();
    assert_eq!(report.unexpected, ["2.num_batches_tracked"]);
    assert!(report.loaded.contains(&"1.num_batches_tracked".to_string()));
}

network! {
    /// `BatchNorm1d` in `network!` today: an unknown type name is a custom layer, checked by the
    /// type system.
    struct Normalized: [4] => Linear<4, 4> -> BatchNorm1d<4> -> Linear<4, 2>
}

#[test]
fn batch_norm_goes_in_a_network_as_a_layer_type() {
    let net = Normalized::init(0);
    assert_eq!(Normalized::NUM_PARAMS, 20 + 8 + 10);
    // Evaluation with running statistics 0 and 1: the identity up to sqrt(1 + 1e-5).
    let hidden = net.layer_0.forward(&[1.0, -1.0, 0.5, 2.0]);
    let normed = net.layer_1.forward(&hidden);
    for (n, h) in normed.iter().zip(hidden) {
        assert!((n - h / (1.0f32 + 1e-5).sqrt()).abs() < 1e-6);
    }
    let logits = net.forward(&[1.0, -1.0, 0.5, 2.0]);
    assert!(logits.iter().all(|v| v.is_finite()));
}
