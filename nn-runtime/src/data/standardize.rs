//! Standardisation: means and standard deviations learnt on the training set, applied to any set.

use super::{Dataset, InMemory};
use crate::{Error, Result, Tensor};

/// Per-feature standardisation `x <- (x - mean) / std`, with the mean and the standard
/// deviation computed on the training set only and then applied unchanged to the training, the
/// validation and the test set (so no information leaks from the test set).
///
/// As scikit-learn's `StandardScaler`: the standard deviation is the population one (divided by
/// `n`, not `n - 1`), and a feature whose standard deviation is zero (constant on the training
/// set) is only centred, not divided by zero. Sums are taken in `f64`, in two passes.
///
/// "Feature" means each position of the input tensor: each column of tabular data, each pixel
/// of an image. For images, [`Standardize::fit_scalar`] computes one mean and one standard
/// deviation over all pixels instead, like torchvision's `Normalize((0.1307,), (0.3081,))`.
///
/// ```
/// use nn::data::{Dataset, InMemory, Standardize};
/// let mut train = InMemory::new(vec![[1.0f32, 10.0], [3.0, 10.0]], vec![0, 1]).unwrap();
/// let mut test = InMemory::new(vec![[5.0f32, 12.0]], vec![0]).unwrap();
/// let scaler = Standardize::fit(&train).unwrap();
/// assert_eq!((scaler.mean(), scaler.std()), (&[2.0, 10.0], &[1.0, 0.0]));
/// scaler.apply(&mut train);
/// scaler.apply(&mut test);
/// assert_eq!(train.get(0).0, [-1.0, 0.0]);
/// assert_eq!(test.get(0).0, [3.0, 2.0]); // the constant feature is centred, not scaled
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardize<T> {
    mean: T,
    std: T,
}

impl<T: Tensor> Standardize<T> {
    /// Learns each feature's mean and population standard deviation from the inputs of `train`.
    ///
    /// Errors if `train` is empty.
    ///
    /// ```
    /// use nn::data::{InMemory, Standardize};
    /// let train = InMemory::new(vec![[0.0f32], [4.0]], vec![0, 0]).unwrap();
    /// let scaler = Standardize::fit(&train).unwrap();
    /// assert_eq!((scaler.mean(), scaler.std()), (&[2.0], &[2.0]));
    /// ```
    pub fn fit<D: Dataset<Input = T>>(train: &D) -> Result<Self> {
        let inputs: Vec<T> = (0..train.len()).map(|index| train.get(index).0).collect();
        Self::fit_inputs(&inputs)
    }

    /// As [`Standardize::fit`], from a slice of inputs.
    ///
    /// ```
    /// let scaler = nn::data::Standardize::fit_inputs(&[[1.0f32, 2.0], [3.0, 2.0]]).unwrap();
    /// assert_eq!(scaler.mean(), &[2.0, 2.0]);
    /// assert!(nn::data::Standardize::<[f32; 2]>::fit_inputs(&[]).is_err());
    /// ```
    pub fn fit_inputs(inputs: &[T]) -> Result<Self> {
        if inputs.is_empty() {
            return Err(Error::InvalidArgument(
                "Standardize::fit: the training set is empty; there is nothing to learn a mean from".into(),
            ));
        }
        let count = inputs.len() as f64;
        let mut sums = vec![0.0f64; T::LEN];
        for input in inputs {
            for (sum, &value) in sums.iter_mut().zip(input.flat()) {
                *sum += f64::from(value);
            }
        }
        let means: Vec<f64> = sums.iter().map(|sum| sum / count).collect();
        let mut squares = vec![0.0f64; T::LEN];
        for input in inputs {
            for ((square, &value), mean) in squares.iter_mut().zip(input.flat()).zip(&means) {
                *square += (f64::from(value) - mean).powi(2);
            }
        }
        let (mut mean, mut std) = (T::zeros(), T::zeros());
        for (((m, s), sum_mean), square) in mean.flat_mut().iter_mut().zip(std.flat_mut()).zip(&means).zip(&squares) {
            *m = *sum_mean as f32;
            *s = (square / count).sqrt() as f32;
        }
        Ok(Standardize { mean, std })
    }

    /// Learns one mean and one population standard deviation over every value of every input
    /// of `train` (all pixels of all images), and uses them for every feature.
    ///
    /// Errors if `train` is empty.
    ///
    /// ```
    /// use nn::data::{InMemory, Standardize};
    /// let train = InMemory::new(vec![[[0.0f32, 1.0], [1.0, 0.0]]], vec![0]).unwrap();
    /// let scaler = Standardize::fit_scalar(&train).unwrap();
    /// assert_eq!(scaler.mean(), &[[0.5, 0.5], [0.5, 0.5]]);
    /// assert_eq!(scaler.std(), &[[0.5, 0.5], [0.5, 0.5]]);
    /// ```
    pub fn fit_scalar<D: Dataset<Input = T>>(train: &D) -> Result<Self> {
        if train.is_empty() {
            return Err(Error::InvalidArgument(
                "Standardize::fit_scalar: the training set is empty; there is nothing to learn a mean from".into(),
            ));
        }
        let count = (train.len() * T::LEN) as f64;
        let values = |index: usize| train.get(index).0;
        let sum: f64 = (0..train.len())
            .map(|index| values(index).flat().iter().map(|&v| f64::from(v)).sum::<f64>())
            .sum();
        let mean = sum / count;
        let square: f64 = (0..train.len())
            .map(|index| {
                values(index)
                    .flat()
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
            })
            .sum();
        Ok(Self::new(mean as f32, (square / count).sqrt() as f32))
    }

    /// The same `mean` and `std` for every feature (for example [`Mnist::MEAN`](super::Mnist::MEAN)
    /// and [`Mnist::STD`](super::Mnist::STD)).
    ///
    /// ```
    /// let scaler = nn::data::Standardize::<[f32; 3]>::new(1.0, 2.0);
    /// assert_eq!(scaler.transform([1.0, 3.0, 5.0]), [0.0, 1.0, 2.0]);
    /// ```
    pub fn new(mean: f32, std: f32) -> Self {
        let (mut means, mut stds) = (T::zeros(), T::zeros());
        means.flat_mut().fill(mean);
        stds.flat_mut().fill(std);
        Standardize { mean: means, std: stds }
    }

    /// Each feature's mean.
    ///
    /// ```
    /// let scaler = nn::data::Standardize::fit_inputs(&[[1.0f32], [2.0]]).unwrap();
    /// assert_eq!(scaler.mean(), &[1.5]);
    /// ```
    pub fn mean(&self) -> &T {
        &self.mean
    }

    /// Each feature's population standard deviation as learnt (zero for a constant feature,
    /// which [`Standardize::transform`] then divides by 1 instead).
    ///
    /// ```
    /// let scaler = nn::data::Standardize::fit_inputs(&[[1.0f32, 7.0], [2.0, 7.0]]).unwrap();
    /// assert_eq!(scaler.std(), &[0.5, 0.0]);
    /// ```
    pub fn std(&self) -> &T {
        &self.std
    }

    /// One input standardised: `(x - mean) / std` per feature (`x - mean` where `std` is 0).
    ///
    /// ```
    /// let scaler = nn::data::Standardize::fit_inputs(&[[0.0f32, 5.0], [2.0, 5.0]]).unwrap();
    /// assert_eq!(scaler.transform([3.0, 6.0]), [2.0, 1.0]);
    /// ```
    pub fn transform(&self, mut input: T) -> T {
        for ((value, &mean), &std) in input.flat_mut().iter_mut().zip(self.mean.flat()).zip(self.std.flat()) {
            *value = (*value - mean) / divisor(std);
        }
        input
    }

    /// Undoes [`Standardize::transform`]: `x * std + mean` (for example to read a standardised
    /// regression prediction in the target's own units).
    ///
    /// ```
    /// let scaler = nn::data::Standardize::fit_inputs(&[[10.0f32], [20.0]]).unwrap();
    /// assert_eq!(scaler.inverse([1.0]), [20.0]);
    /// assert_eq!(scaler.inverse(scaler.transform([12.0])), [12.0]);
    /// ```
    pub fn inverse(&self, mut input: T) -> T {
        for ((value, &mean), &std) in input.flat_mut().iter_mut().zip(self.mean.flat()).zip(self.std.flat()) {
            *value = *value * divisor(std) + mean;
        }
        input
    }

    /// Standardises every input of `data` in place (its targets are left alone).
    ///
    /// ```
    /// use nn::data::{Dataset, InMemory, Standardize};
    /// let mut data = InMemory::new(vec![[1.0f32], [3.0]], vec![0, 1]).unwrap();
    /// Standardize::fit(&data).unwrap().apply(&mut data);
    /// assert_eq!((data.get(0).0, data.get(1).0), ([-1.0], [1.0]));
    /// ```
    pub fn apply<U: Copy + Send + Sync + 'static>(&self, data: &mut InMemory<T, U>) {
        for input in data.inputs_mut() {
            *input = self.transform(*input);
        }
    }

    /// Standardises every target of `data` in place, for regression targets: fit the scaler
    /// on the training targets with [`Standardize::fit_inputs`]`(train.targets())`, apply it to
    /// every set's targets, and read predictions back with [`Standardize::inverse`].
    ///
    /// ```
    /// use nn::data::{Dataset, InMemory, Standardize};
    /// let mut data = InMemory::new(vec![[0.0f32], [1.0]], vec![[100.0f32], [300.0]]).unwrap();
    /// let scaler = Standardize::fit_inputs(data.targets()).unwrap();
    /// scaler.apply_targets(&mut data);
    /// assert_eq!(data.targets(), [[-1.0], [1.0]]);
    /// assert_eq!(scaler.inverse([0.5]), [250.0]);
    /// ```
    pub fn apply_targets<I: Tensor>(&self, data: &mut InMemory<I, T>) {
        for target in data.targets_mut() {
            *target = self.transform(*target);
        }
    }
}

/// What a feature is divided by: its standard deviation, or 1 if that is zero.
fn divisor(std: f32) -> f32 {
    if std == 0.0 {
        1.0
    } else {
        std
    }
}
