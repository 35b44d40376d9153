//! `Trainer`: epochs of shuffled mini-batches, with validation, early stopping, best
//! checkpoints and gradient clipping.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::progress::EpochProgress;
use super::resume::{self, Position, Settings};
use super::{evaluate_in_batches, EpochReport, Monitor, Progress, TrainConfig, TrainReport, Workspace};
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
/// Defaults: 10 epochs, batch size 64, shuffled with seed 0, progress as [`Progress::Auto`], no
/// early stopping, no checkpoint, no clipping, no learning-rate schedule. The plain-value
/// settings are a [`TrainConfig`] ([`Trainer::config`], [`Trainer::with_config`]).
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
    config: TrainConfig,
    progress: Progress,
    on_epoch: Option<EpochCallback<'a>>,
    schedule: Option<Scheduled<'a>>,
}

impl<L: fmt::Debug> fmt::Debug for Trainer<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trainer")
            .field("loss", &self.loss)
            .field("config", &self.config)
            .field("progress", &self.progress)
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
            config: TrainConfig::default(),
            progress: Progress::Auto,
            on_epoch: None,
            schedule: None,
        }
    }

    /// The plain-value settings: epochs, batch size, seed, shuffling, monitor, early stopping,
    /// clipping and checkpoint paths.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Sets every plain-value setting at once (a configuration read from a file, or one kept
    /// from an earlier run); the loss, schedule, callback and progress stay as they are.
    pub fn with_config(mut self, config: TrainConfig) -> Self {
        self.config = config;
        self
    }

    /// Number of passes over the training set.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.config.epochs = epochs;
        self
    }

    /// Samples per step (the last batch of an epoch may be smaller, as with PyTorch's `DataLoader`).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.config.batch_size = batch_size;
        self
    }

    /// Seed of the shuffling: the same seed gives the same batches, so the same result.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Whether each epoch visits the training samples in a new random order (the default, as a
    /// `DataLoader` with `shuffle=True`). With `false`, every epoch visits them in the dataset's
    /// order, batch after batch, so a run can be replayed step by step by hand (or in PyTorch
    /// with `shuffle=False`), and a dataset already in the order wanted keeps it.
    ///
    /// ```
    /// use nn::prelude::*;
    /// network! { struct Line: [1] => Linear<1, 1> }
    /// let data = nn::data::InMemory::new(vec![[1.0], [2.0]], vec![[2.0], [4.0]]).unwrap();
    /// let run = |seed| {
    ///     let mut net = Line::init(0);
    ///     nn::Trainer::new(Mse).epochs(3).batch_size(1).shuffle(false).seed(seed).quiet()
    ///         .fit(&mut net, &mut Sgd::new(0.1), &data, None)
    ///         .unwrap();
    ///     net.forward(&[1.0])[0]
    /// };
    /// assert_eq!(run(1), run(2)); // without shuffling, the seed has nothing to change
    /// ```
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.config.shuffle = shuffle;
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
        self.config.monitor = Some(monitor);
        self
    }

    /// Stops when the monitored figure has not improved for `patience` epochs.
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.config.early_stopping = Some(patience);
        self
    }

    /// Saves the weights to `path` (safetensors) after every epoch that improves the monitored
    /// figure, so the file always holds the best epoch so far, even if training fails later.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.checkpoint = Some(path.into());
        self
    }

    /// Makes the run resumable after a crash: [`Trainer::fit`] keeps a training checkpoint at
    /// `path`, written atomically at the end of every epoch (and every `n` steps with
    /// [`Trainer::resume_every_steps`]), and, if the file exists when `fit` starts, continues
    /// from it. A run killed at any moment (between steps, in the middle of a checkpoint write)
    /// and started again with the same code, data and settings ends with weights bit-identical
    /// to an uninterrupted run, and the same history (but each epoch's `seconds`).
    ///
    /// The file is safetensors: the network's tensors under their keys (as
    /// [`crate::io::save`] writes them, so `load` can read them with
    /// [`crate::io::LoadOptions::partial`]), the optimizer's buffers under `optim.*` keys
    /// ([`Optimizer::state`]), and in its metadata, as JSON, the epoch and step, the schedule's
    /// position, the sum of the epoch's losses so far, the early-stopping figures and the
    /// history. The shuffling order is rebuilt from the seed and the epoch. `fit` checks the
    /// file before it changes anything: that it is a training checkpoint, of this network
    /// (keys and shapes), of this optimizer with its settings, written with this seed, batch
    /// size and number of training samples; otherwise an error names the file. Its directory
    /// must exist and be writable when `fit` starts. A run that has already completed its epochs
    /// (or stopped early) returns its history at once. `epochs` may be raised to train further.
    ///
    /// Not resumed: a [`crate::layer::Dropout`]'s mask stream restarts from its seed (a network
    /// with dropout resumes, but not bit for bit), and the `on_epoch` callback runs again for an
    /// epoch that was redone.
    ///
    /// ```
    /// use nn::prelude::*;
    /// network! { struct Line: [1] => Linear<1, 1> }
    /// let data = nn::data::InMemory::new(vec![[1.0], [2.0], [3.0]], vec![[2.0], [4.0], [6.0]]).unwrap();
    /// let dir = std::env::temp_dir().join(format!("nn-resume-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("run.safetensors");
    /// let trainer = || nn::Trainer::new(nn::loss::Mse).batch_size(2).quiet().resume_checkpoint(&path);
    ///
    /// // A run that stops after 3 of its 6 epochs (as if it had been killed)...
    /// let (mut net, mut opt) = (Line::init(0), Sgd::new(0.05).momentum(0.9));
    /// trainer().epochs(3).fit(&mut net, &mut opt, &data, None).unwrap();
    /// // ...started again, from scratch, continues from its checkpoint to epoch 6,
    /// let (mut net, mut opt) = (Line::init(0), Sgd::new(0.05).momentum(0.9));
    /// let report = trainer().epochs(6).fit(&mut net, &mut opt, &data, None).unwrap();
    /// assert_eq!(report.epochs.len(), 6);
    ///
    /// // and ends where an uninterrupted run ends, bit for bit.
    /// let (mut straight, mut opt) = (Line::init(0), Sgd::new(0.05).momentum(0.9));
    /// nn::Trainer::new(nn::loss::Mse).batch_size(2).quiet().epochs(6).fit(&mut straight, &mut opt, &data, None).unwrap();
    /// assert_eq!(net.forward(&[1.5])[0].to_bits(), straight.forward(&[1.5])[0].to_bits());
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn resume_checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.resume_checkpoint = Some(path.into());
        self
    }

    /// Also writes the [`Trainer::resume_checkpoint`] every `steps` steps (counted across
    /// epochs), so that a crash loses at most `steps` steps. `steps` must be at least 1.
    pub fn resume_every_steps(mut self, steps: usize) -> Self {
        self.config.resume_every_steps = Some(steps);
        self
    }

    /// Clips gradients to a global L2 norm of at most `max_norm` before each update, as
    /// `torch.nn.utils.clip_grad_norm_` does.
    pub fn clip_grad_norm(mut self, max_norm: f32) -> Self {
        self.config.clip_grad_norm = Some(max_norm);
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
    pub fn fit<N, D, O>(
        &mut self,
        net: &mut N,
        optimizer: &mut O,
        train: &D,
        valid: Option<&dyn Dataset<Input = D::Input, Target = D::Target>>,
    ) -> Result<TrainReport>
    where
        D: Dataset,
        N: Layer<D::Input>,
        L: Loss<N::Output, Target = D::Target>,
        O: Optimizer,
    {
        let config = self.config.clone();
        optimizer.check()?;
        if config.batch_size == 0 {
            return Err(Error::InvalidArgument("batch size must be at least 1".into()));
        }
        if train.is_empty() {
            return Err(Error::InvalidArgument("the training set is empty".into()));
        }
        check_samples(net, &self.loss, train)?;
        if let Some(valid) = valid {
            if valid.is_empty() {
                return Err(Error::InvalidArgument(
                    "the validation set is empty; pass `None` to train without validation".into(),
                ));
            }
            check_samples(net, &self.loss, valid)?;
        }
        if let Some((key, value)) = first_non_finite(net) {
            return Err(Error::InvalidArgument(format!(
                "parameter `{key}` of the network is {value} before training; every weight must be finite"
            )));
        }
        let settings = Settings {
            seed: config.seed,
            batch_size: config.batch_size,
            train_len: train.len(),
        };
        // Where training starts: from scratch, or where the training checkpoint left it.
        let position = match &config.resume_checkpoint {
            Some(path) => {
                check_resume_path(path)?;
                if config.resume_every_steps == Some(0) {
                    return Err(Error::InvalidArgument("`resume_every_steps` must be at least 1".into()));
                }
                // An optimizer that cannot save its state fails now, not after an epoch.
                optimizer.state()?;
                let trainable = trainable_len(net);
                resume::load(path, net, optimizer, settings, trainable)?.unwrap_or_default()
            }
            None => Position::default(),
        };
        if position.report.stopped_early || position.epoch >= config.epochs {
            return Ok(position.report);
        }
        // The weights at the end of the last completed epoch, all finite: what a failed epoch
        // leaves in the network (one copy per epoch, not per step). After a resume in the middle
        // of an epoch, the weights resumed.
        let mut last_good = net.clone();
        let monitor = config.monitor.unwrap_or(if valid.is_some() {
            Monitor::ValidLoss
        } else {
            Monitor::TrainLoss
        });
        // The shuffling order is shuffled in place each epoch: replaying the shuffles of the
        // epochs begun gives the resumed epoch's order and the generator's position.
        let mut rng = Rng::seed(config.seed);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let resumed_in_epoch = position.step_in_epoch > 0;
        if config.shuffle {
            for _ in 0..position.epoch + usize::from(resumed_in_epoch) {
                rng.shuffle(&mut order);
            }
        }
        let mut workspace = Workspace::<N, D::Input, D::Target>::new();
        let mut state = position;
        let mut skip_steps = state.step_in_epoch;
        for epoch in state.epoch + 1..=config.epochs {
            if let Some(Scheduled {
                schedule,
                per_step: false,
            }) = &self.schedule
            {
                schedule.apply(optimizer, epoch - 1);
                optimizer.check().map_err(|error| scheduled_error(error, epoch, None))?;
            }
            let start = Instant::now();
            let progress = EpochProgress::start(self.progress, epoch, config.epochs, train.len());
            let (mut total_loss, mut seen) = (0.0f64, 0usize);
            if skip_steps > 0 {
                (total_loss, seen) = (state.epoch_loss, state.epoch_seen);
            } else if config.shuffle {
                rng.shuffle(&mut order);
            }
            let steps_in_epoch = order.len().div_ceil(config.batch_size);
            for (step, batch) in order
                .chunks(config.batch_size)
                .enumerate()
                .skip(std::mem::take(&mut skip_steps))
            {
                // The next batch of this epoch, for the kernel threads to fetch into their
                // caches while they wait during this step (`prefetch.rs`).
                let next = ((step + 1) * config.batch_size).min(order.len());
                let next = &order[next..(next + config.batch_size).min(order.len())];
                crate::prefetch::announce(
                    next.iter().map_while(|&index| train.__input_address(index)),
                    size_of::<D::Input>(),
                );
                let loss = workspace.compute_grads_on(net, &self.loss, train, batch);
                if !loss.is_finite() {
                    net.clone_from(&last_good);
                    return Err(Error::NonFiniteLoss {
                        loss,
                        epoch,
                        step: step + 1,
                    });
                }
                if let Some(max_norm) = config.clip_grad_norm {
                    workspace.clip_grad_norm(net, max_norm);
                }
                if let Some(Scheduled {
                    schedule,
                    per_step: true,
                }) = &self.schedule
                {
                    schedule.apply(optimizer, state.global_step);
                    if let Err(error) = optimizer.check() {
                        net.clone_from(&last_good);
                        return Err(scheduled_error(error, epoch, Some(step + 1)));
                    }
                }
                optimizer.step(net, workspace.grads());
                state.global_step += 1;
                total_loss += f64::from(loss) * batch.len() as f64;
                seen += batch.len();
                progress.advance(batch.len(), step, total_loss / seen as f64);
                if let (Some(path), Some(every)) = (&config.resume_checkpoint, config.resume_every_steps) {
                    // The end of the epoch writes its own checkpoint, after validation.
                    if state.global_step % every == 0 && step + 1 < steps_in_epoch {
                        if let Some((key, value)) = first_non_finite(net) {
                            net.clone_from(&last_good);
                            return Err(Error::NonFiniteWeights { key, value, epoch });
                        }
                        state.step_in_epoch = step + 1;
                        (state.epoch_loss, state.epoch_seen) = (total_loss, seen);
                        resume::save(path, net, optimizer, settings, &state)?;
                    }
                }
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
                .map(|valid| evaluate_in_batches(net, &self.loss, valid, config.batch_size.max(256)))
                .transpose()?;
            let epoch_report = EpochReport {
                epoch,
                train_loss: (total_loss / train.len() as f64) as f32,
                valid_loss: evaluation.map(|e| e.loss),
                valid_accuracy: evaluation.filter(|e| e.has_accuracy()).map(|e| e.accuracy),
                seconds,
            };
            progress.finish(&epoch_report);
            let report = &mut state.report;
            report.epochs.push(epoch_report);
            if let Some(callback) = &mut self.on_epoch {
                callback(&epoch_report);
            }
            // A NaN figure (a validation set whose inputs hold a NaN) is never the best: it
            // counts as an epoch without improvement, and a later finite one can be the best.
            match monitor.value(&epoch_report) {
                Some(value) if !value.is_nan() && state.best.is_none_or(|best| monitor.improves(value, best)) => {
                    state.best = Some(value);
                    report.best_epoch = Some(epoch);
                    state.epochs_without_improvement = 0;
                    if let Some(path) = &config.checkpoint {
                        crate::io::save(net, path)?;
                    }
                }
                _ => state.epochs_without_improvement += 1,
            }
            let stop = config
                .early_stopping
                .is_some_and(|patience| state.epochs_without_improvement >= patience)
                && epoch < config.epochs;
            report.stopped_early = stop;
            (state.epoch, state.step_in_epoch, state.epoch_loss, state.epoch_seen) = (epoch, 0, 0.0, 0);
            if let Some(path) = &config.resume_checkpoint {
                resume::save(path, net, optimizer, settings, &state)?;
            }
            if stop {
                break;
            }
        }
        Ok(state.report)
    }
}

/// An error naming the first sample of `data` whose target `loss` can never take (a label
/// beyond the outputs) or whose input `net` can never take (a token id beyond its vocabulary):
/// one pass over the data, before training changes anything.
pub(crate) fn check_samples<N, L, D>(net: &N, loss: &L, data: &D) -> Result<()>
where
    D: Dataset + ?Sized,
    N: Layer<D::Input>,
    L: Loss<N::Output, Target = D::Target>,
{
    (0..data.len()).try_for_each(|index| {
        let (input, target) = data.get(index);
        loss.check_target(&target, index)?;
        net.check_input(&input, index)
    })
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

/// The number of values an optimizer updates in `net` (the length of its buffers).
fn trainable_len<N: crate::Module + Clone>(net: &mut N) -> usize {
    let grads = net.clone();
    let mut len = 0;
    net.zip_params(&grads, &mut |p, _| len += p.len());
    len
}

/// An error unless a training checkpoint can be written at `path` now.
fn check_resume_path(path: &Path) -> Result<()> {
    match crate::io::unwritable_reason(path) {
        None => Ok(()),
        Some(problem) => Err(Error::InvalidArgument(format!(
            "training checkpoint {}: {problem}",
            path.display()
        ))),
    }
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
