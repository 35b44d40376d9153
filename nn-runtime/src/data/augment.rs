//! Data augmentation for images: random shifts by a few pixels.

use std::sync::atomic::{AtomicU32, Ordering};

use super::Dataset;
use crate::Tensor;

/// An image that can be moved by whole pixels, filling the uncovered border with zeros:
/// `[[f32; W]; H]` (one channel) and `[[[f32; W]; H]; C]` (every channel moved alike).
///
/// ```
/// use nn::data::Shift;
/// let image = [[1.0f32, 2.0], [3.0, 4.0]];
/// assert_eq!(image.shifted(0, 1), [[0.0, 1.0], [0.0, 3.0]]); // one pixel right
/// assert_eq!(image.shifted(-1, 0), [[3.0, 4.0], [0.0, 0.0]]); // one pixel up
/// ```
pub trait Shift: Tensor {
    /// The image moved `down` rows down and `right` columns right (negative: up, left): the
    /// pixel at `(row, column)` goes to `(row + down, column + right)`, pixels moved past the
    /// edge are dropped, and the uncovered ones are 0.
    fn shifted(&self, down: isize, right: isize) -> Self {
        self.shifted_with(down, right, 0.0)
    }

    /// As [`Shift::shifted`], filling the uncovered pixels with `fill` instead of 0 (for images
    /// already normalised, the normalised background: `(0 - mean) / std`).
    ///
    /// ```
    /// use nn::data::Shift;
    /// assert_eq!([[1.0f32, 2.0]].shifted_with(0, -1, -0.5), [[2.0, -0.5]]);
    /// ```
    fn shifted_with(&self, down: isize, right: isize, fill: f32) -> Self;
}

impl<const H: usize, const W: usize> Shift for [[f32; W]; H] {
    fn shifted_with(&self, down: isize, right: isize, fill: f32) -> Self {
        let mut out = [[fill; W]; H];
        for (row, out_row) in out.iter_mut().enumerate() {
            let Some(source_row) = source(row, down).and_then(|r| self.get(r)) else {
                continue;
            };
            for (column, value) in out_row.iter_mut().enumerate() {
                if let Some(&source) = source(column, right).and_then(|c| source_row.get(c)) {
                    *value = source;
                }
            }
        }
        out
    }
}

/// The index that moves to `index` under a shift by `by`, if there is one (never overflowing).
fn source(index: usize, by: isize) -> Option<usize> {
    isize::try_from(index)
        .ok()
        .and_then(|index| index.checked_sub(by))
        .and_then(|source| usize::try_from(source).ok())
}

impl<const C: usize, const H: usize, const W: usize> Shift for [[[f32; W]; H]; C] {
    fn shifted_with(&self, down: isize, right: isize, fill: f32) -> Self {
        self.map(|channel| channel.shifted_with(down, right, fill))
    }
}

/// A dataset whose images are moved by a random offset of up to `max_shift` pixels (2 by
/// default) in each direction every time a sample is read, filling the border with zeros (or
/// [`RandomShift::fill`]); the targets are unchanged. As torchvision's `RandomAffine(degrees=0, translate=...)` with whole
/// pixels: each of the `(2 * max_shift + 1)^2` offsets is equally likely, `(0, 0)` included.
///
/// **Where the randomness comes from.** [`Dataset::get`] takes `&self`, so there is no
/// generator to advance. Instead each sample counts how often it has been read (an atomic
/// counter per sample, so the wrapper stays `Send + Sync`), and the offset of the `visit`-th
/// read of sample `index` is a hash of `(seed, index, visit)` ([`RandomShift::offset`]). The
/// trainer reads each sample once per epoch, so every epoch sees new offsets, and they do not
/// depend on the order in which samples are read or on which thread reads them: the same seed
/// gives the same training run. Call [`RandomShift::reset`] before training a second time on
/// the same wrapper to replay the same offsets.
///
/// `Trainer::fit` takes the training and the validation set as the same type; wrap the
/// validation set with `max_shift(0)`, which leaves images as they are.
///
/// ```
/// use nn::data::{Dataset, InMemory, RandomShift, Shift};
/// let image = [[1.0f32; 4]; 4];
/// let data = InMemory::new(vec![image], vec![7]).unwrap();
/// let shifted = RandomShift::new(data.clone(), 42);
/// let (down, right) = shifted.offset(0, 0);
/// assert!((-2..=2).contains(&down) && (-2..=2).contains(&right));
/// assert_eq!(shifted.get(0), (image.shifted(down, right), 7)); // the first read is visit 0
///
/// let valid = RandomShift::new(data, 0).max_shift(0);
/// assert_eq!(valid.get(0), (image, 7));
/// ```
#[derive(Debug)]
pub struct RandomShift<D> {
    data: D,
    seed: u64,
    max_shift: usize,
    fill: f32,
    visits: Vec<AtomicU32>,
}

impl<D: Dataset> RandomShift<D>
where
    D::Input: Shift,
{
    /// Wraps `data`, shifting by up to 2 pixels, with offsets drawn from `seed`.
    ///
    /// ```
    /// use nn::data::{Dataset, InMemory, RandomShift};
    /// let data = InMemory::new(vec![[[0.5f32; 28]; 28]; 3], vec![0, 1, 2]).unwrap();
    /// assert_eq!(RandomShift::new(data, 0).len(), 3);
    /// ```
    pub fn new(data: D, seed: u64) -> Self {
        let visits = (0..data.len()).map(|_| AtomicU32::new(0)).collect();
        RandomShift {
            data,
            seed,
            max_shift: 2,
            fill: 0.0,
            visits,
        }
    }

    /// The largest shift in each direction, in pixels (0: images unchanged).
    ///
    /// ```
    /// use nn::data::{InMemory, RandomShift};
    /// let data = InMemory::new(vec![[[0.0f32; 8]; 8]], vec![0]).unwrap();
    /// let shifted = RandomShift::new(data, 1).max_shift(1);
    /// assert!((0..100).all(|visit| {
    ///     let (down, right) = shifted.offset(0, visit);
    ///     down.abs() <= 1 && right.abs() <= 1
    /// }));
    /// ```
    pub fn max_shift(mut self, pixels: usize) -> Self {
        self.max_shift = pixels;
        self
    }

    /// The value of the uncovered border pixels (0 unless set). Shifting MNIST digits after
    /// [`Mnist::normalize`](super::Mnist::normalize) should fill with the normalised background,
    /// `-Mnist::MEAN / Mnist::STD` (about -0.42), as shifting before normalising would.
    ///
    /// ```
    /// use nn::data::{Dataset, InMemory, Mnist, RandomShift};
    /// let background = -Mnist::MEAN / Mnist::STD;
    /// let data = InMemory::new(vec![[[background; 28]; 28]], vec![0]).unwrap();
    /// let shifted = RandomShift::new(data, 0).fill(background);
    /// assert!(shifted.get(0).0.iter().flatten().all(|&v| v == background));
    /// ```
    pub fn fill(mut self, value: f32) -> Self {
        self.fill = value;
        self
    }

    /// The offset `(down, right)` given to the `visit`-th read (from 0) of sample `index`, each
    /// in `-max_shift..=max_shift`.
    ///
    /// ```
    /// use nn::data::{InMemory, RandomShift};
    /// let data = InMemory::new(vec![[[0.0f32; 8]; 8]; 2], vec![0, 0]).unwrap();
    /// let a = RandomShift::new(data.clone(), 5);
    /// let b = RandomShift::new(data, 5);
    /// assert_eq!(a.offset(1, 3), b.offset(1, 3)); // same seed, same offsets
    /// ```
    pub fn offset(&self, index: usize, visit: u32) -> (isize, isize) {
        let choices = 2 * self.max_shift as u64 + 1;
        let hash = mix(mix(mix(self.seed) ^ index as u64) ^ u64::from(visit));
        // Two independent 32-bit halves, each scaled to 0..choices (bias below choices / 2^32).
        let pick = |bits: u64| (((bits & 0xFFFF_FFFF) * choices) >> 32) as isize - self.max_shift as isize;
        (pick(hash), pick(hash >> 32))
    }

    /// Starts every sample's read count again from 0, so the next reads replay the same
    /// offsets as the first ones did.
    ///
    /// ```
    /// use nn::data::{Dataset, InMemory, RandomShift};
    /// let mut pixels = [[0.0f32; 6]; 6];
    /// pixels[3][3] = 1.0;
    /// let shifted = RandomShift::new(InMemory::new(vec![pixels], vec![0]).unwrap(), 9);
    /// let first: Vec<_> = (0..5).map(|_| shifted.get(0).0).collect();
    /// shifted.reset();
    /// let again: Vec<_> = (0..5).map(|_| shifted.get(0).0).collect();
    /// assert_eq!(first, again);
    /// ```
    pub fn reset(&self) {
        for visits in &self.visits {
            visits.store(0, Ordering::Relaxed);
        }
    }

    /// The wrapped dataset.
    ///
    /// ```
    /// use nn::data::{InMemory, RandomShift};
    /// let data = InMemory::new(vec![[[0.0f32; 2]; 2]], vec![4]).unwrap();
    /// assert_eq!(RandomShift::new(data, 0).inner().targets(), [4]);
    /// ```
    pub fn inner(&self) -> &D {
        &self.data
    }

    /// The wrapped dataset, unwrapped.
    ///
    /// ```
    /// use nn::data::{InMemory, RandomShift};
    /// let data = InMemory::new(vec![[[0.0f32; 2]; 2]], vec![4]).unwrap();
    /// assert_eq!(RandomShift::new(data.clone(), 0).into_inner(), data);
    /// ```
    pub fn into_inner(self) -> D {
        self.data
    }
}

impl<D: Clone> Clone for RandomShift<D> {
    /// A copy with the same data, seed, maximum shift and read counts.
    fn clone(&self) -> Self {
        RandomShift {
            data: self.data.clone(),
            seed: self.seed,
            max_shift: self.max_shift,
            fill: self.fill,
            visits: self
                .visits
                .iter()
                .map(|visits| AtomicU32::new(visits.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

impl<D: Dataset> Dataset for RandomShift<D>
where
    D::Input: Shift,
{
    type Input = D::Input;
    type Target = D::Target;

    fn len(&self) -> usize {
        self.data.len()
    }

    /// Sample `index` of the wrapped dataset, its image moved by [`RandomShift::offset`] of
    /// this read.
    fn get(&self, index: usize) -> (D::Input, D::Target) {
        let (input, target) = self.data.get(index);
        if self.max_shift == 0 {
            return (input, target);
        }
        let visit = self.visits[index].fetch_add(1, Ordering::Relaxed);
        let (down, right) = self.offset(index, visit);
        (input.shifted_with(down, right, self.fill), target)
    }
}

/// SplitMix64's output function: a bijective mix of 64 bits (Steele, Lea and Flood, 2014).
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
