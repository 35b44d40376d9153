//! Issue 16, "Hardening": each defect a hostile user found, as a test that failed before its fix.
//!
//! Every bad input gets a clear error (naming what was wrong and where), never a panic, an
//! abort or a silently wrong result; no failure leaves non-finite weights in the network or on
//! disk.

use std::io::Write;
use std::path::{Path, PathBuf};

use nn::data::{Csv, Dataset, InMemory};
use nn::prelude::*;

/// Writes `contents` to a file called `name` in a fresh temporary directory.
fn file(name: &str, contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

/// An IDX header for unsigned bytes: magic `00 00 08 rank`, then big-endian dimensions.
fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

// ---- 1. Sizes from files are checked before they drive allocation ----------------------------

#[test]
fn csv_class_index_beyond_the_limit_is_an_error_naming_line_and_value() {
    let table = Csv::from_text("big.csv", "x,label\n0.5,0\n0.25,100000000000\n").unwrap();
    let error = table.classification(["x"], "label").unwrap_err().to_string();
    assert!(error.starts_with("big.csv:3: column `label` (2): "), "{error}");
    assert!(error.contains("100000000000"), "{error}");
    assert!(error.contains("65536"), "{error}");
}

#[test]
fn csv_class_index_usize_max_does_not_overflow() {
    let table = Csv::from_text("max.csv", "x,label\n0.5,18446744073709551615\n").unwrap();
    let error = table.classification(["x"], "label").unwrap_err().to_string();
    assert!(error.starts_with("max.csv:2: column `label` (2): "), "{error}");
    assert!(error.contains("18446744073709551615"), "{error}");
}

#[test]
fn csv_class_indices_up_to_the_limit_still_load() {
    let table = Csv::from_text("ok.csv", "x,label\n0.5,0\n0.25,65535\n").unwrap();
    let (data, classes) = table.classification(["x"], "label").unwrap();
    assert_eq!(classes.len(), 65_536);
    assert_eq!(data.get(1).1, 65_535);
}

#[test]
fn idx_gzip_inflating_beyond_its_header_is_rejected() {
    // The header announces 3 images of 28x28 (2352 bytes); the stream inflates to 64 MiB.
    let mut raw = idx_header(&[3, 28, 28]);
    raw.resize(raw.len() + (64 << 20), 0);
    let compressed = gzip(&raw);
    assert!(compressed.len() < 1 << 20);
    let (_dir, path) = file("train-images-idx3-ubyte.gz", &compressed);
    let error = nn::data::read_idx_images::<28, 28>(&path).unwrap_err().to_string();
    assert!(error.starts_with(&path.display().to_string()), "{error}");
    assert!(error.contains("more than"), "{error}");
    let error = nn::data::read_idx_labels(&path).unwrap_err().to_string();
    assert!(error.starts_with(&path.display().to_string()), "{error}");
}

#[test]
fn idx_gzip_of_the_announced_size_still_loads() {
    let mut raw = idx_header(&[3, 28, 28]);
    raw.extend((0..3 * 784).map(|i| (i % 251) as u8));
    let (_dir, path) = file("images.gz", &gzip(&raw));
    let images = nn::data::read_idx_images::<28, 28>(&path).unwrap();
    assert_eq!(images.len(), 3);
    assert_eq!(images[2][27][27], ((3 * 784 - 1) % 251) as f32 / 255.0);
}

#[test]
fn idx_images_of_zero_pixels_are_an_error_not_a_panic() {
    for file_dims in [[4, 0, 0], [4, 0, 5], [4, 5, 0]] {
        let (_dir, path) = file("zero.idx", &idx_header(&file_dims));
        let error = nn::data::read_idx_images::<0, 0>(&path).unwrap_err().to_string();
        assert!(error.contains("pixel"), "{file_dims:?}: {error}");
        let error = nn::data::read_idx_images::<28, 28>(&path).unwrap_err().to_string();
        assert!(error.contains("pixel"), "{file_dims:?}: {error}");
    }
}

#[test]
fn idx_images_of_zero_pixels_expected_are_an_error_not_a_panic() {
    let mut raw = idx_header(&[1, 28, 28]);
    raw.extend([0; 784]);
    let (_dir, path) = file("one.idx", &raw);
    let error = nn::data::read_idx_images::<0, 28>(&path).unwrap_err().to_string();
    assert!(error.contains("28x28"), "{error}");
}

// ---- 2. Learning rates; no non-finite weights in the network or on disk ----------------------

network! {
    struct Tiny: [2] => Linear<2, 4> -> ReLU -> Linear<4, 2>
}

network! {
    struct Line: [1] => Linear<1, 1>
}

fn params(module: &impl Module) -> Vec<f32> {
    let mut all = Vec::new();
    module.visit_params("", &mut |_, _, values| all.extend_from_slice(values));
    all
}

fn two_blobs(count: usize) -> InMemory<[f32; 2], usize> {
    let inputs = (0..count)
        .map(|i| {
            let side = if i % 2 == 0 { 1.0 } else { -1.0 };
            [side + (i % 7) as f32 * 0.01, side - (i % 5) as f32 * 0.01]
        })
        .collect();
    InMemory::new(inputs, (0..count).map(|i| i % 2).collect()).unwrap()
}

#[test]
fn bad_learning_rates_are_rejected_at_construction_by_try_new() {
    for lr in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1.0, -0.0 - 1e-9] {
        let error = Sgd::try_new(lr).unwrap_err().to_string();
        assert!(error.contains("learning rate"), "{lr}: {error}");
        assert!(error.contains(&format!("{lr}")), "{lr}: {error}");
        assert!(Adam::try_new(lr).is_err(), "{lr}");
        assert!(AdamW::try_new(lr).is_err(), "{lr}");
    }
    assert_eq!(Sgd::try_new(0.01).unwrap().momentum(0.9).learning_rate(), 0.01);
    assert_eq!(Sgd::try_new(0.0).unwrap().learning_rate(), 0.0);
}

#[test]
fn fit_refuses_a_bad_learning_rate_before_touching_the_weights() {
    let data = two_blobs(40);
    for lr in [f32::NAN, f32::INFINITY, -1.0] {
        let mut net = Tiny::init(1);
        let before = params(&net);
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("best.safetensors");
        let mut trainer = nn::Trainer::new(CrossEntropy)
            .epochs(2)
            .batch_size(8)
            .quiet()
            .checkpoint(&checkpoint);
        let error = trainer
            .fit(&mut net, &mut Sgd::new(lr), &data, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("learning rate"), "{lr}: {error}");
        let error = trainer
            .fit(&mut net, &mut Adam::new(lr), &data, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("learning rate"), "{lr}: {error}");
        assert_eq!(params(&net), before, "{lr}: the weights changed");
        assert!(!checkpoint.exists(), "{lr}: a checkpoint was written");
    }
}

/// A schedule that hands the optimizer a NaN rate from its second epoch on.
#[derive(Debug)]
struct BrokenSchedule;

impl nn::optim::Schedule for BrokenSchedule {
    fn learning_rate(&self, index: usize) -> f32 {
        if index == 0 {
            0.1
        } else {
            f32::NAN
        }
    }
}

#[test]
fn a_schedule_giving_a_nan_rate_stops_training_with_the_last_good_weights() {
    let data = two_blobs(40);
    let mut net = Tiny::init(1);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("best.safetensors");
    let error = nn::Trainer::new(CrossEntropy)
        .epochs(3)
        .batch_size(8)
        .quiet()
        .checkpoint(&checkpoint)
        .schedule(BrokenSchedule)
        .fit(&mut net, &mut Sgd::new(0.1), &data, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("learning rate") && error.contains("NaN"), "{error}");
    assert!(params(&net).iter().all(|v| v.is_finite()));
    assert!(params(&Tiny::load(&checkpoint).unwrap()).iter().all(|v| v.is_finite()));
}

/// Plain SGD (rate 0.1) whose step number `overflow_at` (from 1) writes an infinity into the
/// first weight, as an update that overflows does.
struct Overflowing {
    steps: usize,
    overflow_at: usize,
}

impl Optimizer for Overflowing {
    fn step<M: Module>(&mut self, params: &mut M, grads: &M) {
        self.steps += 1;
        let mut first = self.steps == self.overflow_at;
        params.zip_params(grads, &mut |p, g| {
            for (p, g) in p.iter_mut().zip(g) {
                *p -= 0.1 * g;
            }
            if std::mem::take(&mut first) {
                p[0] = f32::INFINITY;
            }
        });
    }
    fn learning_rate(&self) -> f32 {
        0.1
    }
    fn set_learning_rate(&mut self, _: f32) {}
}

#[test]
fn an_overflowing_update_leaves_finite_weights_in_the_network_and_on_disk() {
    // 64 samples in batches of 16: 4 steps per epoch.
    let (data, valid) = (two_blobs(64), two_blobs(10));
    let run = |epochs: usize, overflow_at: usize, checkpoint: &Path| {
        let mut net = Tiny::init(1);
        let mut opt = Overflowing { steps: 0, overflow_at };
        let result = nn::Trainer::new(CrossEntropy)
            .epochs(epochs)
            .batch_size(16)
            .quiet()
            .checkpoint(checkpoint)
            .fit(&mut net, &mut opt, &data, Some(&valid));
        (net, result)
    };
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.safetensors");
    let (after_one_epoch, result) = run(1, usize::MAX, &clean);
    result.unwrap();
    // The last step of epoch 1 (no later loss sees it), a step inside epoch 1, the first
    // step of epoch 2 (caught by the next loss) and the last of epoch 2.
    for (overflow_at, epoch, weights_before) in [
        (4, 1, params(&Tiny::init(1))),
        (2, 1, params(&Tiny::init(1))),
        (5, 2, params(&after_one_epoch)),
        (8, 2, params(&after_one_epoch)),
    ] {
        let checkpoint = dir.path().join(format!("best-{overflow_at}.safetensors"));
        let (net, result) = run(3, overflow_at, &checkpoint);
        let error = result.unwrap_err().to_string();
        assert!(error.contains(&format!("epoch {epoch}")), "step {overflow_at}: {error}");
        assert!(
            error.contains("inf") || error.contains("NaN"),
            "step {overflow_at}: {error}"
        );
        let after = params(&net);
        assert!(after.iter().all(|v| v.is_finite()), "step {overflow_at}: {error}");
        assert_eq!(after, weights_before, "step {overflow_at}: not the last good weights");
        if epoch == 1 {
            assert!(
                !checkpoint.exists(),
                "step {overflow_at}: a checkpoint of a failed epoch"
            );
        } else {
            assert_eq!(params(&Tiny::load(&checkpoint).unwrap()), weights_before);
        }
    }
}

// ---- 3. Validation ------------------------------------------------------------------------

#[test]
fn an_empty_validation_set_is_an_error_at_the_start() {
    let data = two_blobs(16);
    let empty = InMemory::new(Vec::<[f32; 2]>::new(), Vec::new()).unwrap();
    let mut net = Tiny::init(1);
    let before = params(&net);
    let error = nn::Trainer::new(CrossEntropy)
        .epochs(2)
        .quiet()
        .fit(&mut net, &mut Sgd::new(0.1), &data, Some(&empty))
        .unwrap_err()
        .to_string();
    assert!(error.contains("validation set is empty"), "{error}");
    assert_eq!(params(&net), before);
}

/// Inputs of a validation set that make the loss NaN in the given epochs (counted from 0 by
/// the number of full passes over it).
struct NanOnPass {
    data: InMemory<[f32; 2], usize>,
    nan_passes: Vec<usize>,
    reads: std::sync::atomic::AtomicUsize,
}

impl Dataset for NanOnPass {
    type Input = [f32; 2];
    type Target = usize;
    fn len(&self) -> usize {
        self.data.len()
    }
    fn get(&self, index: usize) -> ([f32; 2], usize) {
        let read = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // The trainer checks the targets once (one pass) before training.
        let pass = (read / self.data.len()).saturating_sub(1);
        let (mut input, label) = self.data.get(index);
        if self.nan_passes.contains(&pass) {
            input[0] = f32::NAN;
        }
        (input, label)
    }
}

#[test]
fn a_nan_validation_loss_never_becomes_best_nor_drives_early_stopping() {
    let train = NanOnPass {
        data: two_blobs(32),
        nan_passes: vec![],
        reads: Default::default(),
    };
    // Validation loss NaN in the first epoch, finite after.
    let valid = NanOnPass {
        data: two_blobs(8),
        nan_passes: vec![0],
        reads: Default::default(),
    };
    let mut net = Tiny::init(1);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("best.safetensors");
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(4)
        .batch_size(8)
        .quiet()
        .early_stopping(2)
        .checkpoint(&checkpoint)
        .fit(&mut net, &mut Sgd::new(0.05), &train, Some(&valid))
        .unwrap();
    assert!(report.epochs[0].valid_loss.unwrap().is_nan());
    assert!(report.epochs[1].valid_loss.unwrap().is_finite());
    assert_ne!(report.best_epoch, Some(1), "{report:?}");
    assert!(report.best_epoch.is_some(), "{report:?}");
    assert!(!report.stopped_early, "{report:?}");
    assert_eq!(report.epochs.len(), 4);
    assert!(params(&Tiny::load(&checkpoint).unwrap()).iter().all(|v| v.is_finite()));
}

// ---- 4. Public functions that panicked or went silently wrong -----------------------------

#[test]
fn evaluate_with_a_label_out_of_range_is_an_error_naming_the_sample() {
    let net = Tiny::init(1);
    let data = InMemory::new(vec![[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], vec![0, 1, 7]).unwrap();
    let error = nn::train::evaluate_in_batches(&net, &CrossEntropy, &data, 2)
        .unwrap_err()
        .to_string();
    assert!(error.contains("sample 2") && error.contains("label 7"), "{error}");
    let good = InMemory::new(vec![[0.0, 1.0]], vec![1]).unwrap();
    assert!(nn::evaluate(&net, &CrossEntropy, &good).unwrap().has_accuracy());
}

#[test]
fn evaluate_on_an_empty_set_is_an_error() {
    let net = Tiny::init(1);
    let empty = InMemory::new(Vec::<[f32; 2]>::new(), Vec::new()).unwrap();
    let error = nn::evaluate(&net, &CrossEntropy, &empty).unwrap_err().to_string();
    assert!(error.contains("empty"), "{error}");
}

#[test]
fn train_step_with_more_inputs_than_targets_does_not_train_silently() {
    let outcome = std::panic::catch_unwind(|| {
        let mut net = Line::init(0);
        let mut workspace = nn::train::Workspace::<Line, [f32; 1], [f32; 1]>::new();
        workspace.train_step(
            &mut net,
            &Mse,
            &mut Sgd::new(0.1),
            &[[1.0], [2.0], [3.0], [4.0]],
            &[[2.0], [4.0]],
        )
    });
    let message = outcome.unwrap_err();
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| message.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(
        message.contains("4 inputs") && message.contains("2 targets"),
        "{message}"
    );
}

#[test]
fn confusion_matrix_count_outside_the_classes_reads_no_other_cell() {
    let mut matrix = nn::metrics::ConfusionMatrix::new(3);
    matrix.add(1, 2);
    matrix.add(0, 5); // ignored: there is no class 5
    assert_eq!(matrix.count(1, 2), 1);
    assert_eq!(matrix.count(0, 5), 0, "0 * 3 + 5 is the cell (1, 2)");
    assert_eq!(matrix.count(7, 0), 0);
    assert_eq!(matrix.total(), 1);
}

#[test]
fn normalize_rejects_a_zero_or_non_finite_std_and_mean() {
    let mut data = InMemory::new(vec![[3.0f32, 5.0]], vec![0]).unwrap();
    for (mean, std) in [
        (0.0, 0.0),
        (0.0, -0.0),
        (0.0, f32::NAN),
        (0.0, f32::INFINITY),
        (f32::NAN, 1.0),
    ] {
        let error = data.normalize(mean, std).unwrap_err().to_string();
        assert!(error.contains("normalize"), "{mean} {std}: {error}");
        assert_eq!(data.get(0).0, [3.0, 5.0], "unchanged");
    }
    data.normalize(1.0, 2.0).unwrap();
    assert_eq!(data.get(0).0, [1.0, 2.0]);
}

// ---- 5. Loading ---------------------------------------------------------------------------

fn write_tensors(path: &Path, tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(key, dtype, shape, bytes)| {
            (
                *key,
                safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, &None).unwrap()).unwrap();
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn a_rename_mapping_two_tensors_onto_one_key_is_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.safetensors");
    use safetensors::Dtype::F32;
    write_tensors(
        &path,
        &[
            ("a.weight", F32, vec![1, 1], f32_bytes(&[1.0])),
            ("b.weight", F32, vec![1, 1], f32_bytes(&[2.0])),
            ("a.bias", F32, vec![1], f32_bytes(&[0.5])),
        ],
    );
    let mut net = Line::init(0);
    let before = params(&net);
    let options = nn::io::LoadOptions::partial().rename(|key| {
        Some(match key {
            "a.weight" | "b.weight" => "0.weight".to_string(),
            "a.bias" => "0.bias".to_string(),
            other => other.to_string(),
        })
    });
    let error = nn::io::load_with(&mut net, &path, &options).unwrap_err().to_string();
    assert!(
        error.contains("`a.weight`") && error.contains("`b.weight`") && error.contains("`0.weight`"),
        "{error}"
    );
    assert_eq!(params(&net), before);
}

#[test]
fn a_wrong_dtype_key_is_not_also_listed_as_unexpected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f64.safetensors");
    use safetensors::Dtype::{F32, F64};
    write_tensors(
        &path,
        &[
            ("0.weight", F64, vec![1, 1], 1.0f64.to_le_bytes().to_vec()),
            ("0.bias", F32, vec![1], f32_bytes(&[0.5])),
        ],
    );
    let error = Line::load(&path).unwrap_err().to_string();
    assert!(error.contains("`0.weight` is F64, expected F32"), "{error}");
    assert!(!error.contains("unexpected"), "{error}");
    assert_eq!(error.matches("0.weight").count(), 1, "{error}");
}

// ---- 8. An error returned from `main` reads as a sentence -----------------------------------

#[test]
fn an_error_from_main_prints_its_message_not_a_debug_dump() {
    let error = Csv::read("no/such/file.csv").unwrap_err();
    // `fn main() -> nn::Result<()>` prints `Error: {error:?}`.
    assert_eq!(format!("{error:?}"), error.to_string());
    assert!(format!("{error:?}").starts_with("no/such/file.csv: "), "{error:?}");
    // The structure is still there for who asks.
    let structure = format!("{error:#?}");
    assert!(
        structure.starts_with("Io {") && structure.contains("path: \"no/such/file.csv\""),
        "{structure}"
    );
}

#[test]
fn a_program_returning_an_error_from_main_prints_the_sentence() {
    // `Termination` for `Result<(), E: Debug>` prints `Error: {err:?}`: Debug is what the user reads.
    fn main_like() -> nn::Result<()> {
        Csv::read("no/such/file.csv")?;
        Ok(())
    }
    let printed = format!("Error: {:?}", main_like().unwrap_err());
    assert!(
        printed.starts_with("Error: no/such/file.csv: No such file"),
        "{printed}"
    );
    assert!(!printed.contains("Io {"), "{printed}");
}
