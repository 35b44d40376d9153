//! Helpers shared by the integration tests: reading fixtures written by `tools/make_fixtures.py`.

#![allow(dead_code)] // each test binary uses its own subset

pub mod alloc;

use std::path::PathBuf;

use nn::Module;
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
    pub fn batch<T: nn::Tensor>(&self, key: &str) -> Vec<T> {
        let values = self.values(key);
        assert_eq!(values.len() % T::LEN, 0, "{key}");
        let mut batch = vec![T::zeros(); values.len() / T::LEN];
        T::flat_batch_mut(&mut batch).copy_from_slice(&values);
        batch
    }

    /// Overwrites every parameter of `module` with the fixture tensor `<prefix><key>`.
    pub fn load_params(&self, module: &mut impl Module, prefix: &str) {
        module.visit_params_mut("", &mut |key, shape, values| {
            let (fixture, fixture_shape) = self.f32(&format!("{prefix}{key}"));
            assert_eq!(fixture_shape, shape, "{prefix}{key}");
            values.copy_from_slice(&fixture);
        });
    }

    /// Asserts every parameter of `module` matches `<prefix><key>` within `tolerance`
    /// (see [`assert_close`]).
    pub fn assert_params(&self, module: &impl Module, prefix: &str, tolerance: f32) {
        module.visit_params("", &mut |key, _, values| {
            assert_close(
                values,
                &self.values(&format!("{prefix}{key}")),
                tolerance,
                &format!("{prefix}{key}"),
            );
        });
    }
}

/// Asserts `actual` and `expected` agree to `tolerance` relative to the largest magnitude in
/// `expected`: `max |a - e| <= tolerance * max |e|` (the max-norm relative error).
pub fn assert_close(actual: &[f32], expected: &[f32], tolerance: f32, what: &str) {
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
