//! `Trainer`: epochs of shuffled mini-batches, with validation, early stopping, best
//! checkpoints and gradient clipping.

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use super::progress::EpochProgress;
use super::{evaluate, EpochReport, Monitor, Progress, TrainReport, Workspace};
use crate::data::Dataset;
use crate::layer::Layer;
use crate::loss::Loss;
use crate::optim::{Optimizer, Schedule};
use crate::{Error, Result, Rng};

/// A callback run after each epoch with its figures.
type EpochCallback<'a> = Box<dyn FnMut(&EpochReport) + 'a>;

/// A learning-rate schedule and how often it advances.
struct Scheduled<'a> {
    schedule: Box<dyn Schedule + 'a>,
    per_step: bool,
}

/// Trains a network with a loss: shuffled mini-batches for a number of epochs, evaluating on a
/// validation set after each, as a PyTorch training loop with a shuffling `DataLoader` does.
///
/// Defaults: 10 epochs, batch size 64, seed 0, progress as [`Progress::Auto`], no early
/// stopping, no checkpoint, no clipping, no learning-rate schedule.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Line: [1] => Linear<1, 1> }
/// let data = nn::data::InMemory::new(vec![[1.0], [2.0]], vec![[2.0], [4.0]]).unwrap();
/// let mut net = Line::init(0);
/// let mut opt = nn::optim::Sgd::new(0.05);
/// let mut seen = 0;
/// let report = nn::Trainer::new(nn::loss::Mse)
///     .epochs(50)
///     .batch_size(2)
///     .quiet()
///     .on_epoch(|_epoch| seen += 1)
///     .fit(&mut net, &mut opt, &data, None)
///     .unwrap();
/// assert!(report.last().unwrap().train_loss < report.epochs[0].train_loss);
/// assert_eq!(seen, 50);
/// ```
pub struct Trainer<'a, L> {
    loss: L,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    progress: Progress,
    monitor: Option<Monitor>,
    patience: Option<usize>,
    checkpoint: Option<PathBuf>,
    max_grad_norm: Option<f32>,
    on_epoch: Option<EpochCallback<'a>>,
    schedule: Option<Scheduled<'a>>,
}

impl<L: fmt::Debug> fmt::Debug for Trainer<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trainer")
            .field("loss", &self.loss)
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("seed", &self.seed)
            .field("progress", &self.progress)
            .field("monitor", &self.monitor)
            .field("patience", &self.patience)
            .field("checkpoint", &self.checkpoint)
            .field("max_grad_norm", &self.max_grad_norm)
            .field("on_epoch", &self.on_epoch.as_ref().map(|_| "callback"))
            .field(
                "schedule",
                &self
                    .schedule
                    .as_ref()
                    .map(|s| if s.per_step { "per step" } else { "per epoch" }),
            )
            .finish()
    }
}

impl<'a, L> Trainer<'a, L> {
    /// A trainer minimising `loss`, with the defaults above.
    pub fn new(loss: L) -> Self {
        Trainer {
            loss,
            epochs: 10,
            batch_size: 64,
            seed: 0,
            progress: Progress::Auto,
            monitor: None,
            patience: None,
            checkpoint: None,
            max_grad_norm: None,
            on_epoch: None,
            schedule: None,
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

    /// How progress is shown (see [`Progress`]).
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Shows nothing: the same as `.progress(Progress::Quiet)`.
    pub fn quiet(self) -> Self {
        self.progress(Progress::Quiet)
    }

    /// The figure that decides the best epoch (for [`Trainer::checkpoint`] and
    /// [`Trainer::early_stopping`]). Default: validation loss with a validation set, training
    /// loss without.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// Stops when the monitored figure has not improved for `patience` epochs.
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.patience = Some(patience);
        self
    }

    /// Saves the weights to `path` (safetensors) after every epoch that improves the monitored
    /// figure, so the file always holds the best epoch so far, even if training fails later.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Clips gradients to a global L2 norm of at most `max_norm` before each update, as
    /// `torch.nn.utils.clip_grad_norm_` does.
    pub fn clip_grad_norm(mut self, max_norm: f32) -> Self {
        self.max_grad_norm = Some(max_norm);
        self
    }

    /// Sets the optimizer's learning rate (and momentum, for one-cycle) from `schedule` before
    /// each epoch, index 0 for the first: the loop PyTorch writes with `scheduler.step()` after
    /// each epoch.
    pub fn schedule(mut self, schedule: impl Schedule + 'a) -> Self {
        self.schedule = Some(Scheduled {
            schedule: Box::new(schedule),
            per_step: false,
        });
        self
    }

    /// As [`Trainer::schedule`], advancing at every step (batch) instead: the index counts
    /// steps from 0 across epochs, as `OneCycleLR` with `scheduler.step()` after each batch.
    pub fn schedule_per_step(mut self, schedule: impl Schedule + 'a) -> Self {
        self.schedule = Some(Scheduled {
            schedule: Box::new(schedule),
            per_step: true,
        });
        self
    }

    /// Runs `callback` after each epoch with its figures.
    pub fn on_epoch(mut self, callback: impl FnMut(&EpochReport) + 'a) -> Self {
        self.on_epoch = Some(Box::new(callback));
        self
    }

    /// Trains `net` on `train` with `optimizer`, evaluating on `valid` after each epoch.
    ///
    /// Errors before training (the weights untouched) if the optimizer's learning rate is
    /// NaN, infinite or negative ([`Optimizer::check`]), the batch size is 0, the training set
    /// or the validation set is empty, a target is invalid for the loss (a label beyond the
    /// number of outputs), or a weight is not finite. During training it errors if a schedule
    /// sets an invalid rate, if the loss becomes NaN or infinite (naming the epoch and step), if
    /// a weight becomes NaN or infinite (naming it), or if a checkpoint cannot be written.
    ///
    /// No failure leaves a non-finite weight in `net` or on disk: the weights are checked at
    /// the end of every epoch, before validation and before a checkpoint, and a failed epoch
    /// puts back the weights of the end of the last completed one (or those `net` started
    /// with). The best checkpoint stays on disk. A validation loss (or accuracy) that is NaN
    /// is never the best epoch; it counts as an epoch without improvement.
    pub fn fit<N, D, O>(&mut self, net: &mut N, optimizer: &mut O, train: &D, valid: Option<&D>) -> Result<TrainReport>
    where
        D: Dataset,
        N: Layer<D::Input>,
        L: Loss<N::Output, Target = D::Target>,
        O: Optimizer,
    {
        optimizer.check()?;
        self.check::<D, N::Output>(train)?;
        if let Some(valid) = valid {
            if valid.is_empty() {
                return Err(Error::InvalidArgument(
                    "the validation set is empty; pass `None` to train without validation".into(),
                ));
            }
            self.check_targets::<D, N::Output>(valid)?;
        }
        if let Some((key, value)) = first_non_finite(net) {
            return Err(Error::InvalidArgument(format!(
                "parameter `{key}` of the network is {value} before training; every weight must be finite"
            )));
        }
        // The weights at the end of the last completed epoch, all finite: what a failed epoch
        // leaves in the network (one copy per epoch, not per step).
        let mut last_good = net.clone();
        let monitor = self.monitor.unwrap_or(if valid.is_some() {
            Monitor::ValidLoss
        } else {
            Monitor::TrainLoss
        });
        let mut rng = Rng::seed(self.seed);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut workspace = Workspace::<N, D::Input, D::Target>::new();
        let mut report = TrainReport::default();
        let (mut best, mut epochs_without_improvement) = (None::<f32>, 0);
        let mut global_step = 0;
        for epoch in 1..=self.epochs {
            if let Some(Scheduled {
                schedule,
                per_step: false,
            }) = &self.schedule
            {
                schedule.apply(optimizer, epoch - 1);
                optimizer.check().map_err(|error| scheduled_error(error, epoch, None))?;
            }
            let start = Instant::now();
            let progress = EpochProgress::start(self.progress, epoch, self.epochs, train.len());
            rng.shuffle(&mut order);
            let mut total_loss = 0.0f64;
            let mut seen = 0usize;
            for (step, batch) in order.chunks(self.batch_size).enumerate() {
                let loss = workspace.compute_grads_on(net, &self.loss, train, batch);
                if !loss.is_finite() {
                    net.clone_from(&last_good);
                    return Err(Error::NonFiniteLoss {
                        loss,
                        epoch,
                        step: step + 1,
                    });
                }
                if let Some(max_norm) = self.max_grad_norm {
                    workspace.clip_grad_norm(net, max_norm);
                }
                if let Some(Scheduled {
                    schedule,
                    per_step: true,
                }) = &self.schedule
                {
                    schedule.apply(optimizer, global_step);
                    if let Err(error) = optimizer.check() {
                        net.clone_from(&last_good);
                        return Err(scheduled_error(error, epoch, Some(step + 1)));
                    }
                }
                optimizer.step(net, workspace.grads());
                global_step += 1;
                total_loss += f64::from(loss) * batch.len() as f64;
                seen += batch.len();
                progress.advance(batch.len(), step, total_loss / seen as f64);
            }
            let seconds = start.elapsed().as_secs_f64();
            // The next step's loss catches most bad updates; the last one of the epoch, and one
            // that overflowed where the next loss hides it, are caught here, before the weights
            // are validated, checkpointed or kept as the last good ones.
            if let Some((key, value)) = first_non_finite(net) {
                net.clone_from(&last_good);
                return Err(Error::NonFiniteWeights { key, value, epoch });
            }
            last_good.clone_from(net);
            let evaluation = valid
                .map(|valid| evaluate(net, &self.loss, valid, self.batch_size.max(256)))
                .transpose()?;
            let epoch_report = EpochReport {
                epoch,
                train_loss: (total_loss / train.len() as f64) as f32,
                valid_loss: evaluation.map(|e| e.loss),
                valid_accuracy: evaluation.and_then(|e| e.accuracy),
                seconds,
            };
            progress.finish(&epoch_report);
            report.epochs.push(epoch_report);
            if let Some(callback) = &mut self.on_epoch {
                callback(&epoch_report);
            }
            // A NaN figure (a validation set whose inputs hold a NaN) is never the best: it
            // counts as an epoch without improvement, and a later finite one can be the best.
            match monitor.value(&epoch_report) {
                Some(value) if !value.is_nan() && best.is_none_or(|best| monitor.improves(value, best)) => {
                    best = Some(value);
                    report.best_epoch = Some(epoch);
                    epochs_without_improvement = 0;
                    if let Some(path) = &self.checkpoint {
                        crate::io::save(net, path)?;
                    }
                }
                _ => epochs_without_improvement += 1,
            }
            if self
                .patience
                .is_some_and(|patience| epochs_without_improvement >= patience)
                && epoch < self.epochs
            {
                report.stopped_early = true;
                break;
            }
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

/// The key and value of the first parameter of `net` that is NaN or infinite, if any.
fn first_non_finite<M: crate::Module>(net: &M) -> Option<(String, f32)> {
    let mut found = None;
    net.visit_params("", &mut |key, _, values| {
        // `v * 0` is 0 for a finite value and NaN otherwise: a sum that vectorises, then a
        // search only in the rare tensor that has one.
        if found.is_none() && values.iter().fold(0.0f32, |sum, &v| sum + v * 0.0) != 0.0 {
            let value = values.iter().copied().find(|v| !v.is_finite());
            found = value.map(|value| (key.to_string(), value));
        }
    });
    found
}

/// A schedule's invalid rate, with where it was set.
fn scheduled_error(error: Error, epoch: usize, step: Option<usize>) -> Error {
    match error {
        Error::InvalidArgument(problem) => Error::InvalidArgument(match step {
            Some(step) => format!("the schedule set {problem} (epoch {epoch}, step {step})"),
            None => format!("the schedule set {problem} (epoch {epoch})"),
        }),
        other => other,
    }
}
