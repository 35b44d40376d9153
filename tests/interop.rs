//! PyTorch -> nn: the seed network trained in PyTorch by `tools/interop.py` (2 epochs on the
//! bundled digits) loads here strictly, unchanged, and gives PyTorch's logits, predictions and
//! accuracy. Each comparison names the PyTorch call that produced the expected values.
//! Tolerance: 1e-5 relative (max-norm). The other direction (a network saved here loads in
//! PyTorch with `load_state_dict(strict=True)`) is checked by the script itself.

mod common;

use common::{assert_close, Fixture};
use nn::data::{Mnist, MnistImage};
use nn::prelude::*;

network! {
    /// `nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))`
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

const TOLERANCE: f32 = 1e-5;

/// `safetensors.torch.save_file(model.state_dict(), path)` after training in PyTorch.
const MODEL: &str = "torch_trained_mnist_mlp.safetensors";
/// The first 100 official test digits, their labels, and PyTorch's logits and predictions.
const IO: &str = "torch_trained_mnist_mlp_io.safetensors";

fn torch_trained() -> MnistMlp {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_trained_mnist_mlp.safetensors"
    );
    MnistMlp::load(path).expect("a PyTorch state_dict loads strictly")
}

/// Index of the largest logit, the first on ties (as `torch.argmax`).
fn argmax(logits: &[f32; 10]) -> usize {
    (1..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best })
}

#[test]
fn pytorch_trained_state_dict_loads_strictly_and_unchanged() {
    let net = torch_trained();
    // <key> = model.state_dict()[<key>]   (1.weight, 1.bias, 3.weight, ..., 5.bias)
    Fixture::open(MODEL).assert_params(&net, "", 0.0);
}

#[test]
fn logits_on_100_test_digits_match_pytorch() {
    let net = torch_trained();
    let io = Fixture::open(IO);
    let input: Vec<MnistImage> = io.batch("input");
    assert_eq!(input.len(), 100);
    // logits = model(input)   (model.eval(), torch.no_grad())
    let (expected, shape) = io.f32("logits");
    assert_eq!(shape, [100, 10]);

    let single: Vec<f32> = input.iter().flat_map(|x| net.forward(x)).collect();
    // logits = model(input)
    assert_close(&single, &expected, TOLERANCE, "forward (one sample at a time)");

    let mut batched = vec![[0.0f32; 10]; input.len()];
    net.forward_batch(&input, &mut batched, &mut Default::default(), nn::Mode::Eval);
    // logits = model(input)
    assert_close(batched.as_flattened(), &expected, TOLERANCE, "forward_batch");

    let scale = expected.iter().fold(0.0f32, |m, e| m.max(e.abs()));
    for (what, actual) in [("forward", &single[..]), ("forward_batch", batched.as_flattened())] {
        let worst = actual
            .iter()
            .zip(&expected)
            .map(|(a, e)| (a - e).abs())
            .fold(0.0f32, f32::max);
        eprintln!(
            "{what}: largest logit difference {worst:e} (max |logit| {scale}, relative {:e})",
            worst / scale
        );
    }
}

#[test]
fn predictions_and_accuracy_on_100_test_digits_match_pytorch() {
    let net = torch_trained();
    let io = Fixture::open(IO);
    let input: Vec<MnistImage> = io.batch("input");
    let labels = io.labels("labels");
    let predictions: Vec<usize> = input.iter().map(|x| argmax(&net.forward(x))).collect();
    // predictions = logits.argmax(dim=1)
    assert_eq!(predictions, io.labels("predictions"));

    let correct = predictions.iter().zip(&labels).filter(|(p, l)| p == l).count();
    // accuracy = (predictions == labels).float().mean()
    let torch_accuracy = io.values("accuracy")[0];
    assert_eq!(
        correct,
        (torch_accuracy * labels.len() as f32).round() as usize,
        "PyTorch's accuracy is {torch_accuracy}"
    );
    assert_eq!(correct as f32 / labels.len() as f32, torch_accuracy);
}

#[test]
fn fixture_digits_are_the_bundled_test_digits_standardised_here() {
    let mut data = Mnist::bundled().unwrap();
    data.normalize(Mnist::MEAN, Mnist::STD).unwrap();
    let io = Fixture::open(IO);
    let input: Vec<MnistImage> = io.batch("input");
    let labels = io.labels("labels");
    for (i, (image, label)) in input.iter().zip(&labels).enumerate() {
        let (ours, our_label) = data.test.get(i);
        // input = (torch.from_numpy(pixels) / 255 - 0.1307) / 0.3081, in f32, bit for bit
        assert_eq!(ours.as_flattened(), image.as_flattened(), "test digit {i}");
        assert_eq!(our_label, *label, "label of test digit {i}");
    }
}

#[test]
fn pytorch_trained_network_scores_over_90_percent_on_the_bundled_test_set() {
    let net = torch_trained();
    let mut data = Mnist::bundled().unwrap();
    data.normalize(Mnist::MEAN, Mnist::STD).unwrap();
    let accuracy = nn::evaluate(&net, &CrossEntropy, &data.test).unwrap().accuracy;
    assert!(accuracy > 0.90, "test accuracy {accuracy}");
    // test_accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean()   (10,000 digits)
    let torch_accuracy = Fixture::open(IO).values("test_accuracy")[0];
    // Logits agree to ~1e-6, so at most a near-tie or two may be classified differently.
    assert!(
        (accuracy - torch_accuracy).abs() <= 2.5 / data.test.len() as f32,
        "nn {accuracy}, PyTorch {torch_accuracy}"
    );
}
