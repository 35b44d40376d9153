//! The IDX reader: the bundled digits, raw and gzip files, and clear errors for bad files.

use std::path::Path;

use nn::data::{Dataset, Mnist};

const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// An IDX header for unsigned bytes: magic `00 00 08 rank`, then big-endian dimensions.
fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    bytes
}

/// Writes a valid raw (uncompressed) MNIST directory with `count` images per split.
fn write_raw_mnist(dir: &Path, count: u32) {
    for (i, name) in NAMES.iter().enumerate() {
        let mut bytes = if i % 2 == 0 {
            idx_header(&[count, 28, 28])
        } else {
            idx_header(&[count])
        };
        let payload = if i % 2 == 0 {
            (count * 784) as usize
        } else {
            count as usize
        };
        bytes.extend((0..payload).map(|j| (j % 10) as u8));
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn bundled_digits_load_with_the_documented_counts() {
    let mnist = Mnist::bundled().unwrap();
    assert_eq!((mnist.train.len(), mnist.test.len()), (10_000, 10_000));
    // Class counts of the training subset, from nn-mnist-data/README.md.
    let mut counts = [0usize; 10];
    mnist.train.targets().iter().for_each(|&label| counts[label] += 1);
    assert_eq!(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // Pixels are byte / 255.
    let (image, _) = mnist.test.get(0);
    assert!(image.iter().flatten().all(|&p| (0.0..=1.0).contains(&p)));
    assert!(image.iter().flatten().any(|&p| p == 1.0));
}

#[test]
fn from_dir_reads_gzip_files_like_bundled() {
    let from_dir = Mnist::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/nn-mnist-data")).unwrap();
    let bundled = Mnist::bundled().unwrap();
    assert_eq!(from_dir.test, bundled.test);
    assert_eq!(from_dir.train, bundled.train);
}

#[test]
fn from_dir_reads_raw_files_of_any_count() {
    let dir = tempfile::tempdir().unwrap();
    write_raw_mnist(dir.path(), 3);
    let mnist = Mnist::from_dir(dir.path()).unwrap();
    assert_eq!(mnist.train.len(), 3);
    assert_eq!(mnist.train.get(1).1, 1);
    // Pixel j of the file is j % 10; image 0's second pixel is 1 / 255.
    assert_eq!(mnist.train.get(0).0[0][1], 1.0 / 255.0);
}

/// Replaces the raw file `file` of a valid directory by `replacement` holding `bytes`, and
/// returns the error `from_dir` gives.
fn error_with(file: &str, replacement: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_raw_mnist(dir.path(), 3);
    std::fs::remove_file(dir.path().join(file)).unwrap();
    std::fs::write(dir.path().join(replacement), bytes).unwrap();
    Mnist::from_dir(dir.path()).unwrap_err().to_string()
}

#[test]
fn truncated_image_file_names_the_file_and_the_problem() {
    let mut bytes = idx_header(&[3, 28, 28]);
    bytes.extend([0u8; 100]);
    let error = error_with("train-images-idx3-ubyte", "train-images-idx3-ubyte", &bytes);
    assert!(error.contains("train-images-idx3-ubyte: truncated"), "{error}");
    assert!(
        error.contains("[3, 28, 28]") && error.contains("100 data bytes"),
        "{error}"
    );
}

#[test]
fn truncated_header_is_an_error_not_a_panic() {
    let error = error_with("t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte", &[0, 0, 8]);
    assert!(error.contains("t10k-labels-idx1-ubyte: truncated"), "{error}");
}

#[test]
fn wrong_magic_number_names_the_file() {
    let mut bytes = vec![0x12, 0x34, 0x56, 0x78];
    bytes.extend([0u8; 3000]);
    let error = error_with("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte", &bytes);
    assert!(
        error.contains("t10k-images-idx3-ubyte: wrong magic number [12, 34, 56, 78]"),
        "{error}"
    );
}

#[test]
fn image_and_label_counts_must_agree() {
    let mut labels = idx_header(&[2]);
    labels.extend([1, 2]);
    let error = error_with("train-labels-idx1-ubyte", "train-labels-idx1-ubyte", &labels);
    assert!(error.contains("train-images-idx3-ubyte holds 3 images"), "{error}");
    assert!(error.contains("train-labels-idx1-ubyte holds 2 labels"), "{error}");
}

#[test]
fn corrupt_gzip_is_a_clear_error() {
    let error = error_with(
        "train-labels-idx1-ubyte",
        "train-labels-idx1-ubyte.gz",
        &[0x1f, 0x8b, 0, 1, 2, 3],
    );
    assert!(
        error.contains("train-labels-idx1-ubyte.gz: not a valid gzip file"),
        "{error}"
    );
}

#[test]
fn missing_directory_names_what_was_looked_for() {
    let error = Mnist::from_dir("/nonexistent/mnist").unwrap_err().to_string();
    assert!(error.contains("/nonexistent/mnist/train-images-idx3-ubyte"), "{error}");
    assert!(error.contains("train-images-idx3-ubyte.gz"), "{error}");
}
