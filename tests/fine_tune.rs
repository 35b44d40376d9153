//! Fine-tuning: partial and renamed loading, and frozen layers that neither get gradients nor
//! move.

use std::collections::HashMap;

use nn::io::LoadOptions;
use nn::prelude::*;
use nn::train::Workspace;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

network! {
    struct Digits: [28, 28] => Flatten -> fc1: Linear<784, 32> -> ReLU -> fc2: Linear<32, 16> -> ReLU -> head: Linear<16, 10>
}

network! {
    /// The same body with a 5-class head.
    struct FiveWay: [28, 28] => Flatten -> fc1: Linear<784, 32> -> ReLU -> fc2: Linear<32, 16> -> ReLU -> head: Linear<16, 5>
}

network! {
    struct Sequential: [28, 28] => Flatten -> Linear<784, 32> -> ReLU -> Linear<32, 16> -> ReLU -> Linear<16, 10>
}

fn params(module: &impl Module) -> HashMap<String, Vec<u32>> {
    let mut all = HashMap::new();
    module.visit_params("", &mut |key, _, values| {
        all.insert(key.to_string(), values.iter().map(|v| v.to_bits()).collect());
    });
    all
}

#[test]
fn partial_loading_takes_the_body_and_reports_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digits.safetensors");
    let trained = Digits::init(1);
    trained.save(&path).unwrap();
    let mut target = FiveWay::init(2);
    let head_before = params(&target)["head.weight"].clone();

    // Strict loading refuses and changes nothing.
    let error = target.load_from(&path, &LoadOptions::strict()).unwrap_err().to_string();
    assert!(
        error.contains("`head.weight` has shape [10, 16], expected [5, 16]"),
        "{error}"
    );
    assert_eq!(params(&target)["head.weight"], head_before);

    let report = target.load_from(&path, &LoadOptions::partial()).unwrap();
    assert_eq!(report.loaded, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    assert_eq!(
        report.mismatched,
        [
            ("head.weight".to_string(), vec![10, 16], vec![5, 16]),
            ("head.bias".to_string(), vec![10], vec![5])
        ]
    );
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    let (loaded, source) = (params(&target), params(&trained));
    for key in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
        assert_eq!(loaded[key], source[key], "{key}");
    }
    assert_eq!(loaded["head.weight"], head_before);
}

#[test]
fn renaming_loads_a_pytorch_module_with_a_sequential_attribute() {
    // A PyTorch `self.linear_relu_stack = nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)`
    // after `self.flatten`: keys `linear_relu_stack.0.weight`, `.2.`, `.4.`; ours are 1, 3, 5.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch_style.safetensors");
    let source = Sequential::init(3);
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    source.visit_params("", &mut |key, shape, values| {
        let (index, rest) = key.split_once('.').unwrap();
        let torch_key = format!("linear_relu_stack.{}.{rest}", index.parse::<usize>().unwrap() - 1);
        tensors.push((
            torch_key,
            shape.to_vec(),
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ));
    });
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(key, shape, bytes)| (key.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, &None, &path).unwrap();

    let mut net = Sequential::init(4);
    let options = LoadOptions::strict().rename(|key| {
        let (index, rest) = key.strip_prefix("linear_relu_stack.")?.split_once('.')?;
        Some(format!("{}.{rest}", index.parse::<usize>().ok()? + 1))
    });
    let report = net.load_from(&path, &options).unwrap();
    assert!(report.is_complete());
    assert_eq!(params(&net), params(&source));
}

#[test]
fn frozen_layers_get_no_gradient_and_do_not_move() {
    let mut net = Digits::init(5);
    net.fc1.set_frozen(true);
    net.fc2.set_frozen(true);
    let before = params(&net);
    let mut rng = nn::Rng::seed(6);
    let inputs: Vec<[[f32; 28]; 28]> = (0..8)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.unit())))
        .collect();
    let labels: Vec<usize> = (0..8).collect();
    let mut opt = nn::optim::Adam::new(0.01);
    let mut workspace = Workspace::<Digits, [[f32; 28]; 28], usize>::new();
    for _ in 0..3 {
        workspace.train_step(&mut net, &CrossEntropy, &mut opt, &inputs, &labels);
    }
    let after = params(&net);
    for key in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
        assert_eq!(after[key], before[key], "{key} is frozen");
    }
    assert_ne!(after["head.weight"], before["head.weight"], "the head trains");
    // No gradient was computed for the frozen layers: the workspace's gradients stay zero.
    let grads = params(workspace.grads());
    assert!(grads["fc1.weight"].iter().all(|&bits| bits == 0));
    assert!(grads["head.weight"].iter().any(|&bits| bits != 0));

    // Unfreezing with the same optimizer trains everything (its state restarts at the new size).
    net.set_frozen(false);
    workspace.train_step(&mut net, &CrossEntropy, &mut opt, &inputs, &labels);
    assert_ne!(params(&net)["fc1.weight"], after["fc1.weight"]);
}
