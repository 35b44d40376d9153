//! Helpers shared by the integration tests: reading fixtures written by `tools/make_fixtures.py`
//! and comparing with them, running a layer's backward pass; [`alloc`] counts allocations,
//! [`gradcheck`] is the finite-difference machinery of the gradient checks, [`words`] makes
//! random words for the sequence models.

#![allow(dead_code)] // each test binary uses its own subset

pub mod alloc;
pub mod gradcheck;
pub mod seq;
pub mod words;

use std::path::PathBuf;

use nn::loss::{CrossEntropy, Loss};
use nn::optim::Sgd;
use nn::train::Workspace;
use nn::{Layer, Mode, Module, Tensor};
use safetensors::{Dtype, SafeTensors};

/// A fixture file of `tests/fixtures/`, read whole.
pub struct Fixture {
    bytes: Vec<u8>,
    name: String,
}

impl Fixture {
    pub fn open(name: &str) -> Fixture {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Fixture {
            bytes,
            name: name.to_string(),
        }
    }

    fn file(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("fixture is valid safetensors")
    }

    /// Tensor `key` as f32 values (row-major) and its shape.
    pub fn f32(&self, key: &str) -> (Vec<f32>, Vec<usize>) {
        let file = self.file();
        let view = file
            .tensor(key)
            .unwrap_or_else(|e| panic!("{}: `{key}`: {e}", self.name));
        assert_eq!(view.dtype(), Dtype::F32, "{key}");
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (values, view.shape().to_vec())
    }

    /// Every key of the file.
    pub fn keys(&self) -> Vec<String> {
        self.file().names().into_iter().map(String::from).collect()
    }

    /// Tensor `key` as f32 values only.
    pub fn values(&self, key: &str) -> Vec<f32> {
        self.f32(key).0
    }

    /// An int64 label tensor as class indices.
    pub fn labels(&self, key: &str) -> Vec<usize> {
        let file = self.file();
        let view = file
            .tensor(key)
            .unwrap_or_else(|e| panic!("{}: `{key}`: {e}", self.name));
        assert_eq!(view.dtype(), Dtype::I64, "{key}");
        view.data()
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect()
    }

    /// Fixture values reshaped into per-sample tensors of type `T`.
    pub fn batch<T: Tensor>(&self, key: &str) -> Vec<T> {
        let values = self.values(key);
        assert_eq!(values.len() % T::LEN, 0, "{key}");
        let mut batch = vec![T::zeros(); values.len() / T::LEN];
        T::flat_batch_mut(&mut batch).copy_from_slice(&values);
        batch
    }

    /// `module` with every parameter overwritten by the fixture tensor `<prefix><key>`.
    pub fn load_params<M: Module>(&self, mut module: M, prefix: &str) -> M {
        module.visit_params_mut("", &mut |key, shape, values| {
            let (fixture, fixture_shape) = self.f32(&format!("{prefix}{key}"));
            assert_eq!(fixture_shape, shape, "{prefix}{key}");
            values.copy_from_slice(&fixture);
        });
        module
    }

    /// Asserts every parameter of `module` has the shape of `<prefix><key>` and matches it within
    /// `tolerance` (see [`assert_close`]); returns the largest relative difference.
    pub fn assert_params(&self, module: &impl Module, prefix: &str, tolerance: f32) -> f32 {
        let mut worst = 0.0f32;
        module.visit_params("", &mut |key, shape, values| {
            let name = format!("{prefix}{key}");
            let (expected, expected_shape) = self.f32(&name);
            assert_eq!(shape, expected_shape, "{name}: shape");
            worst = worst.max(assert_close(values, &expected, tolerance, &name));
        });
        worst
    }
}

/// Asserts `actual` and `expected` agree to `tolerance` relative to the largest magnitude in
/// `expected`: `max |a - e| <= tolerance * max |e|` (the max-norm relative error). Returns that
/// relative error, `max |a - e| / max |e|`.
pub fn assert_close(actual: &[f32], expected: &[f32], tolerance: f32, what: &str) -> f32 {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let scale = expected
        .iter()
        .fold(0.0f32, |m, e| m.max(e.abs()))
        .max(f32::MIN_POSITIVE);
    let worst = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= tolerance * scale,
        "{what}: max difference {worst:e} exceeds {tolerance:e} x max |expected| {scale:e}\n actual   {:?}\n expected {:?}",
        &actual[..actual.len().min(8)],
        &expected[..expected.len().min(8)],
    );
    worst / scale
}

/// Computes the mean `loss` of `net` on the fixture's `input` and `targets`, and its gradients
/// (`Workspace::compute_grads`), and asserts they match `<prefix>loss` and `<prefix>grad.<key>`
/// within `tolerance`; returns the largest relative difference.
pub fn assert_loss_and_grads<N, I, L>(
    fixture: &Fixture,
    net: &N,
    loss: &L,
    targets: &[L::Target],
    prefix: &str,
    tolerance: f32,
) -> f32
where
    N: Layer<I>,
    I: Tensor,
    L: Loss<N::Output>,
    L::Target: Copy,
{
    let mut workspace = Workspace::<N, I, L::Target>::new();
    // A copy: the training-mode pass may update running statistics, the caller's net stays as it is.
    let value = workspace.compute_grads(&mut net.clone(), loss, &fixture.batch("input"), targets);
    let name = format!("{prefix}loss");
    let loss_difference = assert_close(&[value], &fixture.values(&name), tolerance, &name);
    let grads_difference = fixture.assert_params(workspace.grads(), &format!("{prefix}grad."), tolerance);
    loss_difference.max(grads_difference)
}

/// Trains `net` as `torch.optim.SGD(model.parameters(), lr, momentum=momentum)` on
/// `nn.CrossEntropyLoss()`, one step on each `(inputs, labels)` pair of fixture keys in turn, and
/// asserts its parameters after step `n` match the fixture's `step<n>.<key>` within `tolerance`
/// (see [`Fixture::assert_params`]); returns the largest relative difference.
pub fn assert_sgd_momentum_steps<N, I>(
    fixture: &Fixture,
    net: &mut N,
    (lr, momentum): (f32, f32),
    batches: &[(&str, &str)],
    tolerance: f32,
) -> f32
where
    N: Layer<I>,
    I: Tensor,
    CrossEntropy: Loss<N::Output, Target = usize>,
{
    let mut opt = Sgd::new(lr).momentum(momentum);
    let mut workspace = Workspace::<N, I, usize>::new();
    let mut worst = 0.0f32;
    for (step, &(inputs, labels)) in batches.iter().enumerate() {
        workspace.train_step(
            net,
            &CrossEntropy,
            &mut opt,
            &fixture.batch(inputs),
            &fixture.labels(labels),
        );
        worst = worst.max(fixture.assert_params(net, &format!("step{}.", step + 1), tolerance));
    }
    worst
}

/// `forward_batch` then `backward_batch` with `grad_output = upstream`: the outputs, the parameter
/// gradients and the input gradient. The gradient buffers start as NaN: `backward_batch` must
/// overwrite them, not accumulate into them.
pub fn backward<L, I>(layer: &L, inputs: &[I], upstream: &[L::Output]) -> (Vec<L::Output>, L, Vec<I>)
where
    L: Layer<I>,
    I: Tensor,
{
    backward_in(layer, inputs, upstream, Mode::Train)
}

/// [`backward`] after a forward pass in `mode`.
pub fn backward_in<L, I>(layer: &L, inputs: &[I], upstream: &[L::Output], mode: Mode) -> (Vec<L::Output>, L, Vec<I>)
where
    L: Layer<I>,
    I: Tensor,
{
    let batch = inputs.len();
    let mut outputs = vec![L::Output::zeros(); batch];
    let mut cache = L::Cache::default();
    layer.forward_batch(inputs, &mut outputs, &mut cache, mode);
    let mut grad_input = vec![I::zeros(); batch];
    I::flat_batch_mut(&mut grad_input).fill(f32::NAN);
    let mut grads = L::zeros();
    grads.visit_params_mut("", &mut |_, _, values| values.fill(f32::NAN));
    layer.backward_batch(
        inputs,
        &outputs,
        upstream,
        Some(&mut grad_input),
        &mut cache,
        &mut grads,
    );
    (outputs, grads, grad_input)
}

/// `size` images of uniform random pixels in `[0, 1)` and labels cycling through `0..classes`,
/// from a fixed seed.
pub fn random_images<const H: usize, const W: usize>(
    size: usize,
    seed: u64,
    classes: usize,
) -> (Vec<[[f32; W]; H]>, Vec<usize>) {
    let mut rng = nn::Rng::seed(seed);
    let images = (0..size)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.unit())))
        .collect();
    (images, (0..size).map(|i| i % classes).collect())
}
