//! `CausalSelfAttention<64, 4>` identical to PyTorch's `nn.MultiheadAttention(64, 4,
//! batch_first=True)` with the causal mask of `../shared/refs/torch_words_gpt.py`: the weights
//! of `tests/fixtures/attention_torch.safetensors` (a plain `save_file(attn.state_dict())`)
//! loaded through `nn::io::load`, then the forward pass, the input gradient and every parameter
//! gradient against `tests/fixtures/attention_io.safetensors`, both written by
//! `tools/make_attention_fixture.py` (PyTorch 2.15, CPU, one thread). Each comparison names
//! the PyTorch call that produced the expected tensor.
//!
//! Tolerance: 1e-5 relative (max-norm), as `tests/parity.rs`. Run with
//! `cargo test --test attention_parity -- --nocapture` to see the largest difference of each
//! check.

mod common;

use common::{assert_close, backward, Fixture};
use nn::prelude::*;

/// Max-norm relative tolerance of every comparison: the sums here (64 products per projection,
/// at most 16 terms per softmax and weighted sum, 48 positions per weight gradient) in another
/// order than PyTorch's differ by a few f32 roundings, far below it.
const TOLERANCE: f32 = 1e-5;

type Attention = CausalSelfAttention<64, 4>;
type Sequence = [[f32; 64]; 16];

/// [`assert_close`], printing the relative difference; returns it.
fn close(actual: &[f32], expected: &[f32], what: &str) -> f32 {
    let difference = assert_close(actual, expected, TOLERANCE, what);
    println!("{what:<32} max difference {difference:.3e} x max |expected|");
    difference
}

fn pytorch_attention() -> Attention {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attention_torch.safetensors");
    // Strict: every key of PyTorch's state_dict, with its shape, and no other.
    nn::io::load::<Attention>(&path).expect("PyTorch's MultiheadAttention checkpoint loads")
}

#[test]
fn forward_and_gradients_match_pytorch_multihead_attention() {
    let attention = pytorch_attention();
    let io = Fixture::open("attention_io.safetensors");
    // input = torch.randn(3, 16, 64)
    let inputs: Vec<Sequence> = io.batch("input");
    assert_eq!(inputs.len(), 3);
    // output = attn(input, input, input, attn_mask=torch.triu(torch.ones(16, 16, dtype=torch.bool), 1),
    //               need_weights=False)[0]
    let expected = io.values("output");
    let single: Vec<f32> = inputs
        .iter()
        .flat_map(|x| attention.forward(x).as_flattened().to_vec())
        .collect();
    let mut worst = close(&single, &expected, "forward (one sample)");

    // upstream = torch.randn_like(output); (output * upstream).sum().backward()
    let upstream: Vec<Sequence> = io.batch("upstream");
    let (outputs, grads, grad_input) = backward(&attention, &inputs, &upstream);
    worst = worst.max(close(outputs.as_flattened().as_flattened(), &expected, "forward_batch"));
    // grad.input = input.grad
    worst = worst.max(close(
        grad_input.as_flattened().as_flattened(),
        &io.values("grad.input"),
        "grad.input",
    ));
    // grad.in_proj_weight, grad.in_proj_bias, grad.out_proj.weight, grad.out_proj.bias =
    // attn.in_proj_weight.grad, ..., attn.out_proj.bias.grad
    let mut keys = Vec::new();
    grads.visit_params("", &mut |key, shape, values| {
        let name = format!("grad.{key}");
        let (expected, expected_shape) = io.f32(&name);
        assert_eq!(shape, expected_shape, "{name}: shape");
        worst = worst.max(close(values, &expected, &name));
        keys.push(key.to_string());
    });
    assert_eq!(
        keys,
        ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    );
    println!("worst: {worst:.3e}");
}

#[test]
fn saving_writes_pytorch_keys_and_shapes_that_load_back() {
    let attention = pytorch_attention();
    let mut keys = Vec::new();
    attention.visit_params("blocks.0.attn.", &mut |key, shape, _| {
        keys.push(format!("{key} {shape:?}"))
    });
    // [(k, list(v.shape)) for k, v in nn.MultiheadAttention(64, 4, batch_first=True).state_dict().items()]
    assert_eq!(
        keys,
        [
            "blocks.0.attn.in_proj_weight [192, 64]",
            "blocks.0.attn.in_proj_bias [192]",
            "blocks.0.attn.out_proj.weight [64, 64]",
            "blocks.0.attn.out_proj.bias [64]",
        ]
    );
    assert_eq!(
        Attention::NUM_PARAMS,
        16_640,
        "sum(p.numel() for p in attn.parameters())"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attention.safetensors");
    nn::io::save(&attention, &path).unwrap();
    assert!(nn::io::load::<Attention>(&path).unwrap() == attention);
}

/// `CausalSelfAttention::init_with` draws as `MultiheadAttention._reset_parameters` does
/// (distributions, not bits: our generator is not PyTorch's): `xavier_uniform_(in_proj_weight)`,
/// uniform in `±sqrt(6 / (fan_in + fan_out)) = ±sqrt(6 / (64 + 192))`; `out_proj.weight` as
/// `nn.Linear(64, 64)`'s `kaiming_uniform_(a=sqrt(5))`, uniform in `±1/sqrt(64)`;
/// `constant_(in_proj_bias, 0.)` and `constant_(out_proj.bias, 0.)`.
#[test]
fn initialisation_follows_pytorch_reset_parameters() {
    let attention = Attention::init_with(&mut nn::Rng::seed(1));
    let uniform_in = |values: &[f32], bound: f32, what: &str| {
        let largest = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / values.len() as f32;
        assert!(
            largest <= bound && largest > 0.99 * bound,
            "{what}: largest |value| {largest}, bound {bound}"
        );
        // A uniform distribution on [-b, b] has mean 0 and variance b^2 / 3; with n >= 4096
        // draws the sample mean's standard deviation is below b / 110.
        assert!(mean.abs() < 0.05 * bound, "{what}: mean {mean}");
        let expected = bound * bound / 3.0;
        assert!(
            (variance / expected - 1.0).abs() < 0.1,
            "{what}: variance {variance}, expected {expected}"
        );
    };
    uniform_in(
        attention.in_proj_weight.as_flattened().as_flattened(),
        (6.0f32 / 256.0).sqrt(),
        "in_proj_weight",
    );
    uniform_in(attention.out_proj.weight.as_flattened(), 1.0 / 8.0, "out_proj.weight");
    assert!(attention.in_proj_bias.as_flattened().iter().all(|&b| b == 0.0));
    assert!(attention.out_proj.bias.iter().all(|&b| b == 0.0));
}
