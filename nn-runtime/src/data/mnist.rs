//! MNIST: the bundled 10k/10k subset, or any directory of MNIST IDX files.

use std::path::{Path, PathBuf};

use super::idx::{decompress_if_gzip, images_from_bytes, labels_from_bytes};
use super::InMemory;
use crate::{Error, Result};

/// One MNIST digit: 28x28 pixels in `[0, 1]` (before [`Mnist::normalize`]).
pub type MnistImage = [[f32; 28]; 28];

/// MNIST digits as a training and a test set of 28x28 images labelled 0-9.
///
/// ```
/// # #[cfg(feature = "bundled-mnist")] {
/// use nn::data::{Dataset, Mnist};
/// let mnist = Mnist::bundled().unwrap();
/// assert_eq!((mnist.train.len(), mnist.test.len()), (10_000, 10_000));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The training digits.
    pub train: InMemory<MnistImage, usize>,
    /// The official 10,000 test digits.
    pub test: InMemory<MnistImage, usize>,
}

/// The four standard file names, without the optional `.gz`.
const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

impl Mnist {
    /// Mean pixel value of the MNIST training set (after `/ 255`), as used by torchvision examples.
    pub const MEAN: f32 = 0.1307;
    /// Standard deviation of the MNIST training pixels (after `/ 255`).
    pub const STD: f32 = 0.3081;

    /// The 10,000 training and 10,000 test digits of the `nn-mnist-data` crate (its README gives
    /// their provenance and licence), embedded in the binary so it works in any crate that
    /// depends on `nn`.
    ///
    /// ```
    /// let mnist = nn::data::Mnist::bundled()?;
    /// # use nn::data::Dataset;
    /// assert_eq!((mnist.train.len(), mnist.test.len()), (10_000, 10_000));
    /// # Ok::<(), nn::Error>(())
    /// ```
    #[cfg(feature = "bundled-mnist")]
    pub fn bundled() -> Result<Self> {
        let paths = nn_mnist_data::FILES.map(|(name, _)| std::path::PathBuf::from(format!("<bundled>/{name}")));
        let [a, b, c, d] = nn_mnist_data::FILES;
        Self::from_bytes([
            (a.1, paths[0].as_path()),
            (b.1, paths[1].as_path()),
            (c.1, paths[2].as_path()),
            (d.1, paths[3].as_path()),
        ])
    }

    /// Reads the four standard MNIST files from `dir`, each raw or gzip-compressed
    /// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
    /// `t10k-labels-idx1-ubyte[.gz]`). The full 60,000-image set loads unchanged.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::read_dir(dir.as_ref())
    }

    /// [`Mnist::from_dir`], not generic: compiled here, not in every caller's crate.
    fn read_dir(dir: &Path) -> Result<Self> {
        let mut contents = Vec::with_capacity(FILES.len());
        for name in FILES {
            let path = find_file(dir, name)?;
            let bytes = std::fs::read(&path).map_err(|source| Error::io(&path, source))?;
            contents.push((bytes, path));
        }
        let files: Vec<(&[u8], &Path)> = contents.iter().map(|(b, p)| (b.as_slice(), p.as_path())).collect();
        Self::from_bytes([files[0], files[1], files[2], files[3]])
    }

    /// Standardises train and test pixels with the same `mean` and `std`:
    /// `x <- (x - mean) / std`. Use [`Mnist::MEAN`] and [`Mnist::STD`] for the usual recipe.
    ///
    /// Errors, changing nothing, unless `mean` is finite and `std` finite and not zero.
    pub fn normalize(&mut self, mean: f32, std: f32) -> Result<()> {
        super::check_normalize(mean, std)?;
        self.train.normalize(mean, std)?;
        self.test.normalize(mean, std)
    }

    /// Decodes the four files (train images, train labels, test images, test labels), each
    /// given as its bytes and the path that names it in errors.
    fn from_bytes(files: [(&[u8], &Path); 4]) -> Result<Self> {
        let [train_images, train_labels, test_images, test_labels] = files;
        Ok(Mnist {
            train: split(train_images, train_labels)?,
            test: split(test_images, test_labels)?,
        })
    }
}

/// Decodes one images file and its labels file into a dataset, checking they pair up.
fn split(images: (&[u8], &Path), labels: (&[u8], &Path)) -> Result<InMemory<MnistImage, usize>> {
    let image_values = images_from_bytes(&decompress_if_gzip(images.0, images.1)?, images.1)?;
    let label_values = labels_from_bytes(&decompress_if_gzip(labels.0, labels.1)?, labels.1)?;
    if image_values.len() != label_values.len() {
        return Err(Error::CountMismatch {
            images: images.1.to_path_buf(),
            image_count: image_values.len(),
            labels: labels.1.to_path_buf(),
            label_count: label_values.len(),
        });
    }
    if let Some(bad) = label_values.iter().position(|&label| label > 9) {
        return Err(Error::format(
            labels.1,
            format!("label {} at index {bad} is not a digit 0-9", label_values[bad]),
        ));
    }
    InMemory::new(image_values, label_values)
}

/// `dir/name.gz` if it exists, else `dir/name`; an error naming both if neither does.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{name}.gz"));
    let raw = dir.join(name);
    if gz.is_file() {
        Ok(gz)
    } else if raw.is_file() {
        Ok(raw)
    } else {
        Err(Error::io(
            raw,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no MNIST file here (looked for {name} and {name}.gz)"),
            ),
        ))
    }
}
