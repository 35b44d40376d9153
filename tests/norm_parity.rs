//! Normalization layers and activations identical to PyTorch: forward, input and parameter
//! gradients, batch norm's running statistics over two training passes and its evaluation mode,
//! and a PyTorch checkpoint with `num_batches_tracked`, against `tests/fixtures/norm_act.safetensors`
//! and `batch_norm_torch.safetensors`, written by `tools/make_fixtures.py` (PyTorch 2.15, CPU).
//! Each comparison names the PyTorch call that produced the expected tensor.
//!
//! Tolerance: 1e-5 relative (max-norm), as `tests/parity.rs`. Run with
//! `cargo test --test norm_parity -- --nocapture` to see the largest difference of each check.

mod common;

use common::seq::Seq;
use common::{assert_close, backward, Fixture};
use nn::prelude::*;
use nn::Mode;
use nn_runtime::layer::BatchNormCache;

/// Max-norm relative tolerance of every comparison: f32 sums of at most 120 values per
/// statistic in another order than PyTorch's stay well below it.
const TOLERANCE: f32 = 1e-5;

/// [`assert_close`], printing the relative difference; returns it.
fn close(actual: &[f32], expected: &[f32], what: &str) -> f32 {
    let difference = assert_close(actual, expected, TOLERANCE, what);
    println!("{what:<44} max difference {difference:.3e} x max |expected|");
    difference
}

/// The fixture's `<prefix>weight` and `<prefix>bias` against a layer's gradients.
fn close_weight_and_bias<M: Module>(fixture: &Fixture, grads: &M, prefix: &str) -> f32 {
    let mut worst = 0.0f32;
    grads.visit_params("", &mut |key, _, values| {
        if key == "weight" || key == "bias" {
            let name = format!("{prefix}{key}");
            worst = worst.max(close(values, &fixture.values(&name), &name));
        }
    });
    worst
}

/// Runs `layer` on `<case>.input` and compares with PyTorch: `forward` one sample at a time
/// (unless `batch_only`), `forward_batch` in training mode, and the gradients of
/// `(output * upstream).sum()`: `backward_batch` given `grad_output = <case>.upstream`.
fn check_case<L, I>(fixture: &Fixture, case: &str, layer: &L, batch_only: bool) -> f32
where
    L: Layer<I>,
    I: Tensor,
{
    let inputs: Vec<I> = fixture.batch(&format!("{case}.input"));
    assert_eq!(
        fixture.f32(&format!("{case}.input")).1[1..],
        *I::SHAPE,
        "{case}: input shape"
    );
    // <case>.output = layer(input)
    let expected = fixture.values(&format!("{case}.output"));
    let mut worst = 0.0f32;
    if !batch_only {
        let single: Vec<f32> = inputs.iter().flat_map(|x| layer.forward(x).flat().to_vec()).collect();
        worst = close(&single, &expected, &format!("{case} forward"));
    }
    // <case>.upstream = torch.randn_like(output); (output * upstream).sum().backward()
    let upstream: Vec<L::Output> = fixture.batch(&format!("{case}.upstream"));
    let (outputs, grads, grad_input) = backward(layer, &inputs, &upstream);
    worst = worst.max(close(
        L::Output::flat_batch(&outputs),
        &expected,
        &format!("{case} forward_batch"),
    ));
    // <case>.grad.input = input.grad
    worst = worst.max(close(
        I::flat_batch(&grad_input),
        &fixture.values(&format!("{case}.grad.input")),
        &format!("{case} grad.input"),
    ));
    // <case>.grad.weight, <case>.grad.bias = layer.weight.grad, layer.bias.grad
    worst.max(close_weight_and_bias(fixture, &grads, &format!("{case}.grad.")))
}

#[test]
fn activations_match_torch() {
    let f = Fixture::open("norm_act.safetensors");
    type Row = [f32; 7];
    type Sequence = [[f32; 7]; 4];
    let worst = [
        // nn.GELU()
        check_case::<_, Row>(&f, "gelu", &GELU::exact(), false),
        // nn.GELU(approximate='tanh')
        check_case::<_, Row>(&f, "gelu_tanh", &GELU::tanh(), false),
        // nn.SiLU()
        check_case::<_, Row>(&f, "silu", &SiLU, false),
        // nn.LeakyReLU()
        check_case::<_, Row>(&f, "leaky_relu", &LeakyReLU::default(), false),
        // nn.LeakyReLU(0.2)
        check_case::<_, Row>(&f, "leaky_relu_0.2", &LeakyReLU::new(0.2), false),
        // nn.Identity()
        check_case::<_, Row>(&f, "identity", &Identity, false),
        // nn.Softmax(dim=-1) on [4, 7] and [3, 4, 7]
        check_case::<_, Row>(&f, "softmax", &Softmax, false),
        check_case::<_, Sequence>(&f, "softmax_seq", &Softmax, false),
        // nn.LogSoftmax(dim=-1) on [4, 7] and [3, 4, 7]
        check_case::<_, Row>(&f, "log_softmax", &LogSoftmax, false),
        check_case::<_, Sequence>(&f, "log_softmax_seq", &LogSoftmax, false),
    ]
    .into_iter()
    .fold(0.0f32, f32::max);
    println!("activations: largest difference {worst:.3e}");
}

#[test]
fn layer_norm_matches_torch() {
    let f = Fixture::open("norm_act.safetensors");
    // nn.LayerNorm(6), weight and bias <case>.weight, <case>.bias, on [4, 6] and [3, 5, 6]
    let row = f.load_params(LayerNorm::<6>::zeros(), "layer_norm.");
    let sequence = f.load_params(LayerNorm::<6>::zeros(), "layer_norm_seq.");
    let worst = check_case::<_, [f32; 6]>(&f, "layer_norm", &row, false).max(check_case::<_, [[f32; 6]; 5]>(
        &f,
        "layer_norm_seq",
        &sequence,
        false,
    ));
    println!("LayerNorm: largest difference {worst:.3e}");
}

/// The running statistics and the counter of `layer` against `<prefix>running_mean`,
/// `<prefix>running_var` and `<prefix>num_batches_tracked` (an int64 scalar).
fn check_running<M: Module>(fixture: &Fixture, layer: &M, prefix: &str) -> f32 {
    let mut worst = 0.0f32;
    layer.visit_params("", &mut |key, _, values| {
        if key.starts_with("running_") {
            let name = format!("{prefix}{key}");
            worst = worst.max(close(values, &fixture.values(&name), &name));
        }
    });
    let mut counters = Vec::new();
    layer.visit_counters("", &mut |key, value| counters.push((key.to_string(), value)));
    let expected = fixture.labels(&format!("{prefix}num_batches_tracked"));
    assert_eq!(
        counters,
        [("num_batches_tracked".to_string(), expected[0] as i64)],
        "{prefix}"
    );
    worst
}

/// A batch norm through PyTorch's sequence (see `make_norm_act`): a training pass with its
/// gradients and running statistics, a second training pass, then evaluation mode.
fn check_batch_norm<L, I>(fixture: &Fixture, case: &str, initial: L) -> f32
where
    L: Layer<I, Output = I, Cache = BatchNormCache>,
    I: Tensor,
{
    // <case>.<key> = layer.state_dict() with weight torch.randn(N), bias torch.randn(N) * 0.5
    let mut layer = fixture.load_params(initial, &format!("{case}."));
    let mut worst = check_running(fixture, &layer, &format!("{case}."));
    // First training forward: output, gradients (through the batch statistics), running stats.
    worst = worst.max(check_case::<_, I>(fixture, case, &layer, true));
    let mut cache = BatchNormCache::default();
    let inputs: Vec<I> = fixture.batch(&format!("{case}.input"));
    let mut outputs = vec![I::zeros(); inputs.len()];
    layer.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Train);
    layer.update_statistics(&cache);
    // <case>.step1.<buffer> = layer.state_dict()[<buffer>] after the first training forward
    worst = worst.max(check_running(fixture, &layer, &format!("{case}.step1.")));

    // <case>.output2 = layer(input2), the second training forward
    let inputs2: Vec<I> = fixture.batch(&format!("{case}.input2"));
    layer.forward_batch(&inputs2, &mut outputs, &mut cache, Mode::Train);
    worst = worst.max(close(
        I::flat_batch(&outputs),
        &fixture.values(&format!("{case}.output2")),
        &format!("{case} output2"),
    ));
    layer.update_statistics(&cache);
    worst = worst.max(check_running(fixture, &layer, &format!("{case}.step2.")));

    // layer.eval(); <case>.eval.output = layer(input): one sample at a time and batched
    let expected = fixture.values(&format!("{case}.eval.output"));
    let single: Vec<f32> = inputs.iter().flat_map(|x| layer.forward(x).flat().to_vec()).collect();
    worst = worst.max(close(&single, &expected, &format!("{case} eval forward")));
    layer.forward_batch(&inputs, &mut outputs, &mut cache, Mode::Eval);
    worst = worst.max(close(
        I::flat_batch(&outputs),
        &expected,
        &format!("{case} eval forward_batch"),
    ));
    // An evaluation pass leaves the running statistics alone, even if asked to update them.
    layer.update_statistics(&cache);
    worst = worst.max(check_running(fixture, &layer, &format!("{case}.step2.")));
    // <case>.eval.grad.* of (eval.output * upstream).sum(): the affine gradient
    let upstream: Vec<I> = fixture.batch(&format!("{case}.upstream"));
    let mut grads = L::zeros();
    let mut grad_input = vec![I::zeros(); inputs.len()];
    I::flat_batch_mut(&mut grad_input).fill(f32::NAN);
    layer.backward_batch(
        &inputs,
        &outputs,
        &upstream,
        Some(&mut grad_input),
        &mut cache,
        &mut grads,
    );
    worst = worst.max(close(
        I::flat_batch(&grad_input),
        &fixture.values(&format!("{case}.eval.grad.input")),
        &format!("{case} eval grad.input"),
    ));
    worst.max(close_weight_and_bias(fixture, &grads, &format!("{case}.eval.grad.")))
}

#[test]
fn batch_norm1d_matches_torch_in_training_and_evaluation() {
    let f = Fixture::open("norm_act.safetensors");
    // nn.BatchNorm1d(5) on [8, 5]
    let worst = check_batch_norm::<_, [f32; 5]>(&f, "batch_norm1d", BatchNorm1d::<5>::zeros());
    println!("BatchNorm1d: largest difference {worst:.3e}");
}

#[test]
fn batch_norm2d_matches_torch_in_training_and_evaluation() {
    let f = Fixture::open("norm_act.safetensors");
    // nn.BatchNorm2d(3) on [4, 3, 5, 6]
    let worst = check_batch_norm::<_, [[[f32; 6]; 5]; 3]>(&f, "batch_norm2d", BatchNorm2d::<3>::zeros());
    println!("BatchNorm2d: largest difference {worst:.3e}");
}

/// `nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))`, keys `0.*` and `1.*`.
type LinearNorm = Seq<Linear<4, 3>, BatchNorm1d<3>>;

#[test]
fn a_torch_checkpoint_with_num_batches_tracked_loads_strictly() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/batch_norm_torch.safetensors");
    // save_file(model.state_dict(), path) after three training forwards: num_batches_tracked = 3 (I64 [])
    let net: LinearNorm = nn::io::load(&path).expect("strict load");
    assert_eq!(net.second.num_batches_tracked, 3);
    let f = Fixture::open("norm_act.safetensors");
    // torch_file.output = model.eval()(torch_file.input)
    let inputs: Vec<[f32; 4]> = f.batch("torch_file.input");
    let outputs: Vec<f32> = inputs.iter().flat_map(|x| net.forward(x)).collect();
    let worst = close(&outputs, &f.values("torch_file.output"), "torch checkpoint eval output");
    println!("PyTorch checkpoint: largest difference {worst:.3e}");
}
