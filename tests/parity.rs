//! Numbers identical to PyTorch: forward, loss, gradients and SGD steps against fixtures
//! written by `tools/make_fixtures.py` (PyTorch 2.15, CPU). Each comparison names the PyTorch
//! call that produced the expected tensor. Tolerance: 1e-5 relative (max-norm).

mod common;

use common::{assert_close, assert_loss_and_grads, assert_sgd_momentum_steps, Fixture};
use nn::prelude::*;

network! {
    /// `nn.Sequential(nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))`
    struct SmallMlp: [4, 5] => Flatten -> Linear<20, 16> -> ReLU -> Linear<16, 8> -> Tanh -> Linear<8, 3>
}

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

const TOLERANCE: f32 = 1e-5;

type Image = [[f32; 5]; 4];

/// The model as built after `torch.manual_seed(0)`, weights from its `state_dict`.
fn small_mlp(fixture: &Fixture) -> SmallMlp {
    fixture.load_params(SmallMlp::init(0), "")
}

#[test]
fn forward_matches_torch_logits() {
    let fixture = Fixture::open("small_mlp.safetensors");
    let net = small_mlp(&fixture);
    let input: Vec<Image> = fixture.batch("input");
    // logits = model(input)
    let expected = fixture.values("logits");
    let single: Vec<f32> = input.iter().flat_map(|x| net.forward(x)).collect();
    assert_close(&single, &expected, TOLERANCE, "forward (one sample)");
    let mut batched = vec![[0.0f32; 3]; input.len()];
    net.forward_batch(&input, &mut batched, &mut Default::default(), nn::Mode::Eval);
    assert_close(batched.as_flattened(), &expected, TOLERANCE, "forward_batch");
}

#[test]
fn cross_entropy_loss_and_gradients_match_torch() {
    let fixture = Fixture::open("small_mlp.safetensors");
    // loss = nn.CrossEntropyLoss()(model(input), labels)
    // grad.<key> = parameter .grad after loss.backward()
    let labels = fixture.labels("labels");
    assert_loss_and_grads::<_, Image, _>(&fixture, &small_mlp(&fixture), &CrossEntropy, &labels, "", TOLERANCE);
}

#[test]
fn mse_loss_and_gradients_match_torch() {
    let fixture = Fixture::open("small_mlp.safetensors");
    // mse.loss = nn.MSELoss()(model(input), mse_target)
    // mse.grad.<key> = parameter .grad after mse_loss.backward()
    let targets: Vec<[f32; 3]> = fixture.batch("mse.target");
    assert_loss_and_grads::<_, Image, _>(&fixture, &small_mlp(&fixture), &Mse, &targets, "mse.", TOLERANCE);
}

#[test]
fn two_sgd_momentum_steps_match_torch() {
    let fixture = Fixture::open("small_mlp.safetensors");
    // opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    // step1.<key> = parameters after the first opt.step() on (input, labels)
    // step2.<key> = parameters after the second opt.step() on (input2, labels2)
    assert_sgd_momentum_steps::<_, Image>(
        &fixture,
        &mut small_mlp(&fixture),
        (0.1, 0.9),
        &[("input", "labels"), ("input2", "labels2")],
        TOLERANCE,
    );
}

#[test]
fn activations_match_torch() {
    let fixture = Fixture::open("small_mlp.safetensors");
    let check = |name: &str, layer: &dyn Fn(&[f32; 5]) -> [f32; 5]| {
        let input: Vec<[f32; 5]> = fixture.batch(&format!("activations.{name}.input"));
        // activations.<name>.output = torch.<name>(activations.<name>.input)
        let expected = fixture.values(&format!("activations.{name}.output"));
        assert_close(&layer(&input[0]), &expected, TOLERANCE, name);
    };
    check("relu", &|x| ReLU.forward(x));
    check("sigmoid", &|x| Sigmoid.forward(x));
    check("tanh", &|x| Tanh.forward(x));
}

#[test]
fn pytorch_checkpoint_loads_unchanged_and_gives_torch_logits() {
    // safetensors.torch.save_file(model.state_dict(), "mnist_mlp_torch.safetensors") for
    // nn.Sequential(Flatten(), Linear(784,128), ReLU(), Linear(128,64), ReLU(), Linear(64,10))
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mnist_mlp_torch.safetensors"
    );
    let net = MnistMlp::load(path).expect("a PyTorch state_dict loads strictly");
    let checkpoint = Fixture::open("mnist_mlp_torch.safetensors");
    checkpoint.assert_params(&net, "", 0.0);
    let io = Fixture::open("mnist_mlp_torch_io.safetensors");
    // logits = model(input), input = torch.rand(3, 28, 28) after torch.manual_seed(2)
    let logits: Vec<f32> = io
        .batch::<[[f32; 28]; 28]>("input")
        .iter()
        .flat_map(|x| net.forward(x))
        .collect();
    assert_close(&logits, &io.values("logits"), TOLERANCE, "logits");
}
