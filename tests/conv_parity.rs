//! Convolutional layers and LeNet-5 identical to PyTorch: forward, input/weight/bias gradients,
//! loss, one SGD step, and a LeNet trained in PyTorch, against fixtures written by
//! `tools/make_fixtures.py` (`conv.safetensors`, `lenet.safetensors`) and
//! `tools/interop_lenet.py` (`torch_trained_lenet*.safetensors`), PyTorch 2.15, CPU. Each
//! comparison names the PyTorch call that produced the expected tensor.
//!
//! Tolerance: 1e-5 relative (max-norm), as `tests/parity.rs`; the PyTorch-trained LeNet's logits
//! are held to the requirement, 1e-4 (see [`TRAINED_TOLERANCE`]). Run with
//! `cargo test --test conv_parity -- --nocapture` to see the largest difference of each check.

mod common;

use common::{assert_close, assert_loss_and_grads, assert_sgd_momentum_steps, backward, Fixture};
use nn::prelude::*;
use nn::{AvgPool2d, Conv2d, MaxPool2d, Mode};

network! {
    /// LeNet-5 as the issue states it: `nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(),
    /// nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    /// nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))`
    struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

/// Max-norm relative tolerance of every comparison with a fixture of `make_fixtures.py`, as in
/// `tests/parity.rs`: f32 sums of at most a few thousand products (LeNet's first weight gradient
/// sums 8 x 28 x 28 of them) in another order than PyTorch's stay well below it.
const TOLERANCE: f32 = 1e-5;

/// The requirement for the LeNet trained in PyTorch: its checkpoint gives PyTorch's logits
/// within 1e-4 (max-norm relative).
const TRAINED_TOLERANCE: f32 = 1e-4;

/// One MNIST digit with its channel: LeNet's input `[1, 28, 28]`.
type Digit = [[[f32; 28]; 28]; 1];

/// The state_dict of `nn.Sequential(...)` LeNet: keys and shapes, in order.
const LENET_KEYS: [(&str, &[usize]); 10] = [
    ("0.weight", &[6, 1, 5, 5]),
    ("0.bias", &[6]),
    ("3.weight", &[16, 6, 5, 5]),
    ("3.bias", &[16]),
    ("7.weight", &[120, 400]),
    ("7.bias", &[120]),
    ("9.weight", &[84, 120]),
    ("9.bias", &[84]),
    ("11.weight", &[10, 84]),
    ("11.bias", &[10]),
];

/// [`assert_close`], printing the relative difference; returns it.
fn close(actual: &[f32], expected: &[f32], tolerance: f32, what: &str) -> f32 {
    let difference = assert_close(actual, expected, tolerance, what);
    println!("{what:<44} max difference {difference:.3e} x max |expected|");
    difference
}

/// Runs `layer` on the fixture's `<case>.input` (a batch of 3) and compares with PyTorch:
/// the output of `forward` (one sample at a time) and of `forward_batch`, then the input gradient
/// and the parameter gradients of `(output * upstream).sum()`, i.e. `backward_batch` given
/// `grad_output = <case>.upstream` and buffers of NaN (see [`backward`]). Returns the largest
/// relative difference.
fn check_case<L, I>(fixture: &Fixture, case: &str, layer: &L) -> f32
where
    L: Layer<I>,
    I: Tensor,
{
    let inputs: Vec<I> = fixture.batch(&format!("{case}.input"));
    assert_eq!(inputs.len(), 3, "{case}: batch");
    assert_eq!(
        fixture.f32(&format!("{case}.input")).1[1..],
        *I::SHAPE,
        "{case}: input shape"
    );
    // <case>.output = layer(input)
    let (expected, shape) = fixture.f32(&format!("{case}.output"));
    assert_eq!(shape[1..], *L::Output::SHAPE, "{case}: output shape");

    let single: Vec<f32> = inputs.iter().flat_map(|x| layer.forward(x).flat().to_vec()).collect();
    let mut worst = close(&single, &expected, TOLERANCE, &format!("{case} forward"));

    // <case>.upstream = torch.randn_like(output); (output * upstream).sum().backward()
    let upstream: Vec<L::Output> = fixture.batch(&format!("{case}.upstream"));
    let (outputs, grads, grad_input) = backward(layer, &inputs, &upstream);
    let batched = L::Output::flat_batch(&outputs);
    worst = worst.max(close(batched, &expected, TOLERANCE, &format!("{case} forward_batch")));
    // <case>.grad.input = input.grad
    worst = worst.max(close(
        I::flat_batch(&grad_input),
        &fixture.values(&format!("{case}.grad.input")),
        TOLERANCE,
        &format!("{case} grad.input"),
    ));
    // <case>.grad.weight = layer.weight.grad, <case>.grad.bias = layer.bias.grad
    worst.max(fixture.assert_params(&grads, &format!("{case}.grad."), TOLERANCE))
}

/// A `Conv2d` with the fixture's weights `<case>.weight` and `<case>.bias` (PyTorch's default
/// init after `torch.manual_seed`).
fn conv_from<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const HO: usize,
    const WO: usize,
>(
    fixture: &Fixture,
    case: &str,
) -> Conv2d<IN, OUT, K, S, P, HO, WO> {
    fixture.load_params(Conv2d::<IN, OUT, K, S, P, HO, WO>::zeros(), &format!("{case}."))
}

#[test]
fn conv2d_forward_and_gradients_match_torch() {
    let f = Fixture::open("conv.safetensors");
    let worst = [
        // nn.Conv2d(2, 3, 3) on [2, 7, 6]
        check_case::<_, [[[f32; 6]; 7]; 2]>(&f, "conv_k3", &conv_from::<2, 3, 3, 1, 0, 5, 4>(&f, "conv_k3")),
        // nn.Conv2d(3, 4, 3, stride=2, padding=1) on [3, 9, 8]
        check_case::<_, [[[f32; 8]; 9]; 3]>(
            &f,
            "conv_k3_s2_p1",
            &conv_from::<3, 4, 3, 2, 1, 5, 4>(&f, "conv_k3_s2_p1"),
        ),
        // nn.Conv2d(1, 2, 5, padding=2) on [1, 8, 7]
        check_case::<_, [[[f32; 7]; 8]; 1]>(&f, "conv_k5_p2", &conv_from::<1, 2, 5, 1, 2, 8, 7>(&f, "conv_k5_p2")),
        // nn.Conv2d(2, 3, 2, stride=2) on [2, 7, 6]: the last input row is in no window
        check_case::<_, [[[f32; 6]; 7]; 2]>(&f, "conv_k2_s2", &conv_from::<2, 3, 2, 2, 0, 3, 3>(&f, "conv_k2_s2")),
        // nn.Conv2d(6, 16, 5) on [6, 14, 14]: LeNet's second convolution
        check_case::<_, [[[f32; 14]; 14]; 6]>(
            &f,
            "conv_lenet2",
            &conv_from::<6, 16, 5, 1, 0, 10, 10>(&f, "conv_lenet2"),
        ),
    ]
    .into_iter()
    .fold(0.0f32, f32::max);
    println!("Conv2d: largest difference {worst:.3e}");
}

/// Where the input gradient of a max pool is nonzero: the positions that received a window's
/// gradient.
fn nonzero(values: &[f32]) -> Vec<usize> {
    (0..values.len()).filter(|&i| values[i] != 0.0).collect()
}

/// [`check_case`] for a max pool, plus: the forward pass is exact (a maximum involves no
/// rounding), and the gradient goes to exactly the positions PyTorch chose.
fn check_max_pool<L, I>(fixture: &Fixture, case: &str, layer: &L) -> f32
where
    L: Layer<I>,
    I: Tensor,
{
    let worst = check_case(fixture, case, layer);
    let inputs: Vec<I> = fixture.batch(&format!("{case}.input"));
    let single: Vec<f32> = inputs.iter().flat_map(|x| layer.forward(x).flat().to_vec()).collect();
    // <case>.output = layer(input)
    assert_close(&single, &fixture.values(&format!("{case}.output")), 0.0, case);

    let upstream: Vec<L::Output> = fixture.batch(&format!("{case}.upstream"));
    let (_, _, grad_input) = backward(layer, &inputs, &upstream);
    // <case>.grad.input = input.grad: nonzero exactly at each window's first maximum (row-major)
    assert_eq!(
        nonzero(I::flat_batch(&grad_input)),
        nonzero(&fixture.values(&format!("{case}.grad.input"))),
        "{case}: the gradient goes to other positions than PyTorch's"
    );
    worst
}

/// [`check_max_pool`] of the fixture's cases `window2` (`nn.MaxPool2d(2)` on `[3, 6, 7]`: the
/// last column is in no window, by the floor) and `window3_stride2` (`nn.MaxPool2d(3, stride=2)`
/// on `[3, 9, 8]`: overlapping windows); returns the larger difference.
fn check_max_pools(fixture: &Fixture, window2: &str, window3_stride2: &str) -> f32 {
    let worst = check_max_pool::<_, [[[f32; 7]; 6]; 3]>(fixture, window2, &MaxPool2d::<2, 2, 3, 3>);
    worst.max(check_max_pool::<_, [[[f32; 8]; 9]; 3]>(
        fixture,
        window3_stride2,
        &MaxPool2d::<3, 2, 4, 3>,
    ))
}

#[test]
fn max_pool2d_forward_and_input_gradient_match_torch() {
    let worst = check_max_pools(&Fixture::open("conv.safetensors"), "maxpool2", "maxpool3_s2");
    println!("MaxPool2d: largest difference {worst:.3e}");
}

#[test]
fn max_pool2d_ties_send_the_gradient_to_the_first_maximum_as_torch() {
    // Inputs torch.randint(0, 3, ...).float() with one all-equal window: many windows hold their
    // maximum more than once, and PyTorch gives the gradient to the first (row by row). With
    // nn.MaxPool2d(3, stride=2), a tied value may be the first maximum of one window and not of
    // the next.
    let worst = check_max_pools(&Fixture::open("conv.safetensors"), "maxpool2_ties", "maxpool3_s2_ties");
    println!("MaxPool2d with ties: largest difference {worst:.3e}");
}

#[test]
fn avg_pool2d_forward_and_input_gradient_match_torch() {
    let f = Fixture::open("conv.safetensors");
    let worst = [
        // nn.AvgPool2d(2) on [3, 6, 7]
        check_case::<_, [[[f32; 7]; 6]; 3]>(&f, "avgpool2", &AvgPool2d::<2, 2, 3, 3>),
        // nn.AvgPool2d(3, stride=2) on [3, 9, 8]
        check_case::<_, [[[f32; 8]; 9]; 3]>(&f, "avgpool3_s2", &AvgPool2d::<3, 2, 4, 3>),
    ]
    .into_iter()
    .fold(0.0f32, f32::max);
    println!("AvgPool2d: largest difference {worst:.3e}");
}

/// LeNet as built after `torch.manual_seed(0)`, weights from its `state_dict`.
fn lenet(fixture: &Fixture) -> LeNet {
    fixture.load_params(LeNet::init(0), "")
}

#[test]
fn lenet_parameters_are_keyed_as_the_pytorch_state_dict() {
    let mut keys = Vec::new();
    LeNet::init(0).visit_params("", &mut |key, shape, values| {
        assert_eq!(values.len(), shape.iter().product::<usize>(), "{key}");
        keys.push((key.to_string(), shape.to_vec()));
    });
    // list((k, list(v.shape)) for k, v in model.state_dict().items())
    let expected: Vec<(String, Vec<usize>)> = LENET_KEYS
        .iter()
        .map(|(key, shape)| (key.to_string(), shape.to_vec()))
        .collect();
    assert_eq!(keys, expected);
    // sum(p.numel() for p in model.parameters())
    assert_eq!(LeNet::NUM_PARAMS, 61_706);
}

#[test]
fn lenet_forward_matches_torch_logits() {
    let fixture = Fixture::open("lenet.safetensors");
    let net = lenet(&fixture);
    let input: Vec<Digit> = fixture.batch("input");
    assert_eq!(input.len(), 8);
    // logits = model(input)
    let expected = fixture.values("logits");
    let single: Vec<f32> = input.iter().flat_map(|x| net.forward(x)).collect();
    close(&single, &expected, TOLERANCE, "LeNet forward (one sample)");
    let mut batched = vec![[0.0f32; 10]; input.len()];
    net.forward_batch(&input, &mut batched, &mut Default::default(), Mode::Eval);
    close(batched.as_flattened(), &expected, TOLERANCE, "LeNet forward_batch");
}

#[test]
fn lenet_cross_entropy_loss_and_every_gradient_match_torch() {
    let fixture = Fixture::open("lenet.safetensors");
    // loss = nn.CrossEntropyLoss()(model(input), labels)
    // grad.<key> = model.get_parameter(<key>).grad   after loss.backward()
    let labels = fixture.labels("labels");
    let worst = assert_loss_and_grads::<_, Digit, _>(&fixture, &lenet(&fixture), &CrossEntropy, &labels, "", TOLERANCE);
    println!("LeNet loss and gradients: largest difference {worst:.3e}");
}

#[test]
fn lenet_one_sgd_momentum_step_matches_torch() {
    let fixture = Fixture::open("lenet.safetensors");
    // opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    // step1.<key> = model.state_dict()[<key>]   after opt.step() on (input, labels)
    let worst = assert_sgd_momentum_steps::<_, Digit>(
        &fixture,
        &mut lenet(&fixture),
        (0.01, 0.9),
        &[("input", "labels")],
        TOLERANCE,
    );
    println!("LeNet after one SGD step: largest difference {worst:.3e}");
}

/// `safetensors.torch.save_file(model.state_dict(), path)` after one epoch in PyTorch.
fn torch_trained_lenet() -> LeNet {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_trained_lenet.safetensors"
    );
    LeNet::load(path).expect("a PyTorch state_dict loads strictly")
}

/// The first 100 official test digits, standardised, with their channel; they are the `input`
/// of `torch_trained_mnist_mlp_io.safetensors` (`tools/interop_lenet.py` checks it bit for bit,
/// and `tests/interop.rs` that they are `Mnist::bundled()`'s after `normalize`).
fn first_100_test_digits() -> Vec<Digit> {
    Fixture::open("torch_trained_mnist_mlp_io.safetensors").batch("input")
}

/// Index of the largest logit, the first on ties (as `torch.argmax`).
fn argmax(logits: &[f32; 10]) -> usize {
    (1..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best })
}

#[test]
fn torch_trained_lenet_loads_strictly_and_unchanged() {
    let net = torch_trained_lenet();
    // <key> = model.state_dict()[<key>]   (0.weight, 0.bias, 3.weight, ..., 11.bias)
    Fixture::open("torch_trained_lenet.safetensors").assert_params(&net, "", 0.0);
}

#[test]
fn torch_trained_lenet_gives_torch_logits_on_100_test_digits() {
    let net = torch_trained_lenet();
    let io = Fixture::open("torch_trained_lenet_io.safetensors");
    let input = first_100_test_digits();
    assert_eq!(input.len(), 100);
    // logits = model(input)   (model.eval(), torch.no_grad())
    let (expected, shape) = io.f32("logits");
    assert_eq!(shape, [100, 10]);

    let single: Vec<[f32; 10]> = input.iter().map(|x| net.forward(x)).collect();
    close(
        single.as_flattened(),
        &expected,
        TRAINED_TOLERANCE,
        "trained LeNet forward (one sample at a time)",
    );
    let mut batched = vec![[0.0f32; 10]; input.len()];
    net.forward_batch(&input, &mut batched, &mut Default::default(), Mode::Eval);
    close(
        batched.as_flattened(),
        &expected,
        TRAINED_TOLERANCE,
        "trained LeNet forward_batch",
    );

    // predictions = logits.argmax(dim=1)
    let predictions: Vec<usize> = single.iter().map(argmax).collect();
    assert_eq!(predictions, io.labels("predictions"));
    let labels = io.labels("labels");
    let correct = predictions.iter().zip(&labels).filter(|(p, l)| p == l).count();
    // accuracy = (predictions == labels).float().mean()
    assert_eq!(correct as f32 / labels.len() as f32, io.values("accuracy")[0]);
}
