//! Classification metrics: confusion matrix, accuracy, top-k accuracy, per-class precision,
//! recall and F1, and their macro and weighted averages (as scikit-learn defines them).

use crate::aligned::Buffer;
use std::fmt;

use crate::data::Dataset;
use crate::layer::{Layer, Mode};
use crate::tensor::prefix_mut;
use crate::train::gather;

/// Counts of (true class, predicted class) pairs: row `t`, column `p` counts samples of class `t`
/// predicted as `p`.
///
/// ```
/// use nn::metrics::ConfusionMatrix;
/// let m = ConfusionMatrix::from_predictions(3, &[0, 0, 1, 2, 2], &[0, 1, 1, 2, 0]);
/// assert_eq!(m.count(0, 1), 1);
/// assert_eq!(m.accuracy(), 3.0 / 5.0);
/// assert_eq!(m.recall(0), 0.5);      // one of the two true 0s found
/// assert_eq!(m.precision(1), 0.5);   // one of the two predicted 1s right
/// println!("{m}");                    // a table, with precision, recall and F1 per class
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        ConfusionMatrix {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// The matrix of paired true and predicted classes. Classes at or beyond `classes` are
    /// ignored (they cannot be placed in the table).
    pub fn from_predictions(classes: usize, truths: &[usize], predictions: &[usize]) -> Self {
        let mut matrix = Self::new(classes);
        truths.iter().zip(predictions).for_each(|(&t, &p)| matrix.add(t, p));
        matrix
    }

    /// Counts one sample of class `truth` predicted as `predicted` (ignored if either is out of range).
    pub fn add(&mut self, truth: usize, predicted: usize) {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted] += 1;
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Samples of class `truth` predicted as `predicted`: 0 when either is not a class (such
    /// samples are never counted, see [`ConfusionMatrix::add`]).
    ///
    /// ```
    /// let mut m = nn::metrics::ConfusionMatrix::new(3);
    /// m.add(1, 2);
    /// assert_eq!(m.count(1, 2), 1);
    /// assert_eq!(m.count(0, 5), 0); // not the cell (1, 2) that `0 * 3 + 5` would point at
    /// ```
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// All samples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Samples whose true class is `class` (the support of `class`).
    pub fn support(&self, class: usize) -> usize {
        (0..self.classes).map(|p| self.count(class, p)).sum()
    }

    fn predicted(&self, class: usize) -> usize {
        (0..self.classes).map(|t| self.count(t, class)).sum()
    }

    /// Share of samples predicted correctly (0 when empty).
    pub fn accuracy(&self) -> f32 {
        let correct: usize = (0..self.classes).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total())
    }

    /// Of the samples predicted as `class`, the share that are `class` (0 if none were).
    pub fn precision(&self, class: usize) -> f32 {
        ratio(self.count(class, class), self.predicted(class))
    }

    /// Of the samples of `class`, the share predicted as `class` (0 if there are none).
    pub fn recall(&self, class: usize) -> f32 {
        ratio(self.count(class, class), self.support(class))
    }

    /// Harmonic mean of precision and recall (0 when both are 0).
    pub fn f1(&self, class: usize) -> f32 {
        let (p, r) = (self.precision(class), self.recall(class));
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Unweighted mean of the per-class F1 scores.
    pub fn macro_f1(&self) -> f32 {
        (0..self.classes).map(|c| self.f1(c)).sum::<f32>() / self.classes.max(1) as f32
    }

    /// Mean of the per-class F1 scores weighted by each class's support.
    pub fn weighted_f1(&self) -> f32 {
        let weighted: f32 = (0..self.classes).map(|c| self.f1(c) * self.support(c) as f32).sum();
        weighted / self.total().max(1) as f32
    }
}

fn ratio(part: usize, whole: usize) -> f32 {
    if whole == 0 {
        0.0
    } else {
        part as f32 / whole as f32
    }
}

/// The matrix as a table (true classes down, predictions across), then precision, recall, F1
/// and support per class, and the averages.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(self.classes.to_string().len());
        write!(f, "true\\pred")?;
        for p in 0..self.classes {
            write!(f, " {p:>width$}")?;
        }
        writeln!(f, "  precision  recall     f1  support")?;
        for t in 0..self.classes {
            write!(f, "{t:>9}")?;
            for p in 0..self.classes {
                write!(f, " {:>width$}", self.count(t, p))?;
            }
            writeln!(
                f,
                "  {:>9.4}  {:>6.4}  {:>5.4}  {:>7}",
                self.precision(t),
                self.recall(t),
                self.f1(t),
                self.support(t)
            )?;
        }
        write!(
            f,
            "accuracy {:.4}  macro F1 {:.4}  weighted F1 {:.4}  ({} samples)",
            self.accuracy(),
            self.macro_f1(),
            self.weighted_f1(),
            self.total()
        )
    }
}

/// Share of samples whose label is among the `k` largest outputs (ties broken toward lower
/// indices, as `torch.topk` on CPU does for equal values in practice).
///
/// ```
/// let outputs = [[0.1f32, 0.7, 0.2], [0.5, 0.3, 0.2]];
/// assert_eq!(nn::metrics::top_k_accuracy(&outputs, &[2, 1], 1), 0.0);
/// assert_eq!(nn::metrics::top_k_accuracy(&outputs, &[2, 1], 2), 1.0);
/// ```
pub fn top_k_accuracy<const N: usize>(outputs: &[[f32; N]], labels: &[usize], k: usize) -> f32 {
    let hits = outputs
        .iter()
        .zip(labels)
        .filter(|(output, &label)| {
            label < N && {
                let value = output[label];
                // The label's rank: outputs larger than it, or equal to it at a lower index.
                let rank = output
                    .iter()
                    .enumerate()
                    .filter(|&(i, &v)| v > value || (v == value && i < label))
                    .count();
                rank < k
            }
        })
        .count();
    ratio(hits, outputs.len())
}

/// Runs a classifier over `data` (evaluation mode) and counts its predictions (the largest
/// output) against the labels.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Pick: [2] => Linear<2, 2> }
/// let mut net = Pick::zeros();
/// *net.layer_0.weight = [[1.0, 0.0], [0.0, 1.0]];
/// let data = nn::data::InMemory::new(vec![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], vec![0, 1, 1]).unwrap();
/// let matrix = nn::metrics::confusion_matrix(&net, &data, 64);
/// assert_eq!((matrix.count(0, 0), matrix.count(1, 1), matrix.count(1, 0)), (1, 1, 1));
/// ```
pub fn confusion_matrix<N, D, const C: usize>(net: &N, data: &D, batch_size: usize) -> ConfusionMatrix
where
    D: Dataset<Target = usize>,
    N: Layer<D::Input, Output = [f32; C]>,
{
    let mut matrix = ConfusionMatrix::new(C);
    let (mut inputs, mut labels, mut outputs) = (Buffer::new(), Vec::new(), Buffer::new());
    let mut cache = N::Cache::default();
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(batch_size.max(1)) {
        let inputs = gather(data, chunk, &mut inputs, &mut labels);
        let outputs = prefix_mut(&mut outputs, chunk.len());
        net.forward_batch(inputs, outputs, &mut cache, Mode::Eval);
        for (output, &label) in outputs.iter().zip(&labels) {
            matrix.add(label, argmax(output));
        }
    }
    matrix
}

/// The index of the largest value (the first one on ties, as `torch.argmax`).
///
/// ```
/// assert_eq!(nn::metrics::argmax(&[0.1, 0.9, 0.9]), 1);
/// ```
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = i;
        }
    }
    best
}
