//! `Trainer`: epochs of shuffled mini-batches, with validation after each.

use std::time::Instant;

use super::{evaluate, EpochReport, TrainReport, Workspace};
use crate::data::Dataset;
use crate::layer::Layer;
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::{Error, Result, Rng};

/// Trains a network with a loss: shuffled mini-batches for a number of epochs, evaluating on a
/// validation set after each, as a PyTorch training loop with a shuffling `DataLoader` does.
///
/// Defaults: 10 epochs, batch size 64, seed 0, one printed line per epoch on stderr.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Line: [1] => Linear<1, 1> }
/// let data = nn::data::InMemory::new(vec![[1.0], [2.0]], vec![[2.0], [4.0]]).unwrap();
/// let mut net = Line::init(0);
/// let mut opt = nn::optim::Sgd::new(0.05);
/// let report = nn::Trainer::new(nn::loss::Mse).epochs(50).batch_size(2).quiet()
///     .fit(&mut net, &mut opt, &data, None).unwrap();
/// assert!(report.last().unwrap().train_loss < report.epochs[0].train_loss);
/// ```
#[derive(Debug, Clone)]
pub struct Trainer<L> {
    loss: L,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    verbose: bool,
}

impl<L> Trainer<L> {
    /// A trainer minimising `loss`, with the defaults above.
    pub fn new(loss: L) -> Self {
        Trainer {
            loss,
            epochs: 10,
            batch_size: 64,
            seed: 0,
            verbose: true,
        }
    }

    /// Number of passes over the training set.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Samples per step (the last batch of an epoch may be smaller, as with PyTorch's `DataLoader`).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Seed of the shuffling: the same seed gives the same batches, so the same result.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Prints nothing (by default one line per epoch goes to stderr).
    pub fn quiet(mut self) -> Self {
        self.verbose = false;
        self
    }

    /// Trains `net` on `train` with `optimizer`, evaluating on `valid` after each epoch.
    ///
    /// Errors before training if the batch size is 0, the training set is empty, or a target
    /// is invalid for the loss (a label beyond the number of outputs); during training if the
    /// loss becomes NaN or infinite, naming the epoch and step.
    pub fn fit<N, D, O>(&self, net: &mut N, optimizer: &mut O, train: &D, valid: Option<&D>) -> Result<TrainReport>
    where
        D: Dataset,
        N: Layer<D::Input>,
        L: Loss<N::Output, Target = D::Target>,
        O: Optimizer,
    {
        self.check::<D, N::Output>(train)?;
        if let Some(valid) = valid {
            self.check_targets::<D, N::Output>(valid)?;
        }
        let mut rng = Rng::seed(self.seed);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut workspace = Workspace::<N, D::Input, D::Target>::new();
        let mut report = TrainReport::default();
        for epoch in 1..=self.epochs {
            let start = Instant::now();
            rng.shuffle(&mut order);
            let mut total_loss = 0.0f64;
            for (step, batch) in order.chunks(self.batch_size).enumerate() {
                let loss = workspace.train_on(net, &self.loss, optimizer, train, batch);
                if !loss.is_finite() {
                    return Err(Error::NonFiniteLoss {
                        loss,
                        epoch,
                        step: step + 1,
                    });
                }
                total_loss += f64::from(loss) * batch.len() as f64;
            }
            let seconds = start.elapsed().as_secs_f64();
            let evaluation = valid.map(|valid| evaluate(net, &self.loss, valid, self.batch_size.max(256)));
            let epoch_report = EpochReport {
                epoch,
                train_loss: (total_loss / train.len() as f64) as f32,
                valid_loss: evaluation.map(|e| e.loss),
                valid_accuracy: evaluation.and_then(|e| e.accuracy),
                seconds,
            };
            if self.verbose {
                eprintln!("{epoch_report}");
            }
            report.epochs.push(epoch_report);
        }
        Ok(report)
    }

    fn check<D, O>(&self, train: &D) -> Result<()>
    where
        D: Dataset,
        O: crate::Tensor,
        L: Loss<O, Target = D::Target>,
    {
        if self.batch_size == 0 {
            return Err(Error::InvalidArgument("batch size must be at least 1".into()));
        }
        if train.is_empty() {
            return Err(Error::InvalidArgument("the training set is empty".into()));
        }
        self.check_targets::<D, O>(train)
    }

    fn check_targets<D, O>(&self, data: &D) -> Result<()>
    where
        D: Dataset,
        O: crate::Tensor,
        L: Loss<O, Target = D::Target>,
    {
        (0..data.len()).try_for_each(|index| self.loss.check_target(&data.get(index).1, index))
    }
}
