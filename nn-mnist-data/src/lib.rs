//! The MNIST subset that `nn::data::Mnist::bundled()` reads: 10,000 training digits and the
//! official 10,000 test digits, as the four standard IDX files, gzip-compressed, embedded as
//! byte slices (3.2 MB in all).
//!
//! Provenance, checksums and the licence of the digits (CC BY-SA 3.0, by Yann LeCun, Corinna
//! Cortes and Christopher J. C. Burges) are in this crate's README. Use it through `nn`:
//!
//! ```
//! assert_eq!(nn_mnist_data::FILES.len(), 4);
//! assert_eq!(nn_mnist_data::FILES[0].0, "train-images-idx3-ubyte.gz");
//! // gzip magic bytes
//! assert!(nn_mnist_data::FILES.iter().all(|(_, bytes)| bytes.starts_with(&[0x1f, 0x8b])));
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// 10,000 training images, 28x28 `u8`, IDX3, gzip.
pub const TRAIN_IMAGES: &[u8] = include_bytes!("../train-images-idx3-ubyte.gz");
/// The labels (0-9) of [`TRAIN_IMAGES`], IDX1, gzip.
pub const TRAIN_LABELS: &[u8] = include_bytes!("../train-labels-idx1-ubyte.gz");
/// The official 10,000 MNIST test images (`t10k`), 28x28 `u8`, IDX3, gzip.
pub const TEST_IMAGES: &[u8] = include_bytes!("../t10k-images-idx3-ubyte.gz");
/// The labels (0-9) of [`TEST_IMAGES`], IDX1, gzip.
pub const TEST_LABELS: &[u8] = include_bytes!("../t10k-labels-idx1-ubyte.gz");

/// The four files by their standard names, in the order training images, training labels,
/// test images, test labels.
pub const FILES: [(&str, &[u8]); 4] = [
    ("train-images-idx3-ubyte.gz", TRAIN_IMAGES),
    ("train-labels-idx1-ubyte.gz", TRAIN_LABELS),
    ("t10k-images-idx3-ubyte.gz", TEST_IMAGES),
    ("t10k-labels-idx1-ubyte.gz", TEST_LABELS),
];
