//! The training checkpoint behind [`super::Trainer::resume_checkpoint`]: one safetensors file
//! holding the network's tensors under their keys, the optimizer's buffers under `optim.*` keys,
//! and in the header's metadata a JSON entry with where training stands.
//!
//! Every float is stored as its bits, so a resumed run continues bit for bit.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use super::{EpochReport, TrainReport};
use crate::optim::{Optimizer, OptimizerState};
use crate::{Error, Module, Result};

/// The metadata key of the format's name, and that name.
const FORMAT_KEY: &str = "format";
const FORMAT: &str = "nn-training-checkpoint";
/// The metadata key of the JSON state.
const STATE_KEY: &str = "training_state";
/// The version of the JSON state's layout.
const VERSION: u64 = 1;
/// The prefix of the optimizer's buffers among the file's tensors.
const OPTIM_PREFIX: &str = "optim.";

/// The trainer's settings a checkpoint must have been written with: with another seed, batch
/// size or training set, the resumed run would not be the interrupted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Settings {
    pub seed: u64,
    pub batch_size: usize,
    pub train_len: usize,
}

/// Where training stands, besides the weights and the optimizer.
#[derive(Debug, Clone, Default)]
pub(super) struct Position {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed in the next epoch (0 at an epoch's end).
    pub step_in_epoch: usize,
    /// Steps completed in all, the index of a per-step schedule.
    pub global_step: usize,
    /// The next epoch's sum of loss times batch size so far, and its samples so far.
    pub epoch_loss: f64,
    pub epoch_seen: usize,
    /// The best monitored figure so far, and the epochs since it.
    pub best: Option<f32>,
    pub epochs_without_improvement: usize,
    /// The history so far (with `best_epoch` and `stopped_early`).
    pub report: TrainReport,
}

/// Writes the checkpoint atomically.
pub(super) fn save<N: Module, O: Optimizer>(
    path: &Path,
    net: &N,
    optimizer: &O,
    settings: Settings,
    position: &Position,
) -> Result<()> {
    let optimizer_state = optimizer.state()?;
    let history: Vec<Value> = position
        .report
        .epochs
        .iter()
        .map(|e| {
            json!({
                "epoch": e.epoch,
                "train_loss_bits": e.train_loss.to_bits(),
                "valid_loss_bits": e.valid_loss.map(f32::to_bits),
                "valid_accuracy_bits": e.valid_accuracy.map(f32::to_bits),
                "seconds_bits": e.seconds.to_bits(),
            })
        })
        .collect();
    let state = json!({
        "version": VERSION,
        "seed": settings.seed,
        "batch_size": settings.batch_size,
        "train_len": settings.train_len,
        "epoch": position.epoch,
        "step_in_epoch": position.step_in_epoch,
        "global_step": position.global_step,
        "epoch_loss_bits": position.epoch_loss.to_bits(),
        "epoch_seen": position.epoch_seen,
        "best_bits": position.best.map(f32::to_bits),
        "epochs_without_improvement": position.epochs_without_improvement,
        "best_epoch": position.report.best_epoch,
        "stopped_early": position.report.stopped_early,
        "history": history,
        "optimizer": {
            "kind": optimizer_state.kind,
            "scalars": optimizer_state.scalars,
        },
    });
    let extra: Vec<(String, &[f32])> = optimizer_state
        .buffers
        .iter()
        .map(|(name, values)| (format!("{OPTIM_PREFIX}{name}"), values.as_slice()))
        .collect();
    let metadata = HashMap::from([
        (FORMAT_KEY.to_string(), FORMAT.to_string()),
        (STATE_KEY.to_string(), state.to_string()),
    ]);
    crate::io::save_checkpoint(net, &extra, metadata, path)
}

/// Reads the checkpoint at `path` into `net` and `optimizer` and returns where training stands;
/// `None` (nothing changed) if there is no file. Every check comes before anything changes: on
/// error `net` and `optimizer` are as they were, and the error names the file.
/// `trainable` is the number of values the optimizer updates (the length of its buffers).
pub(super) fn load<N: Module, O: Optimizer>(
    path: &Path,
    net: &mut N,
    optimizer: &mut O,
    settings: Settings,
    trainable: usize,
) -> Result<Option<Position>> {
    if !path.exists() {
        return Ok(None);
    }
    let (extras, metadata) = crate::io::read_checkpoint_extras(path, OPTIM_PREFIX)?;
    let bad = |problem: String| Error::format(path, problem);
    if metadata.get(FORMAT_KEY).map(String::as_str) != Some(FORMAT) {
        return Err(bad(format!(
            "not a training checkpoint (no `{FORMAT_KEY}: {FORMAT}` in its metadata); \
             `Trainer::resume_checkpoint` needs a file it wrote (a file from `save` or `Trainer::checkpoint` holds only weights)"
        )));
    }
    let state: Value = metadata
        .get(STATE_KEY)
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| bad(format!("the `{STATE_KEY}` metadata is missing or not JSON")))?;
    let field = |name: &str| {
        state
            .get(name)
            .ok_or_else(|| bad(format!("the training state has no `{name}`")))
    };
    let number = |name: &str| {
        field(name)?
            .as_u64()
            .ok_or_else(|| bad(format!("the training state's `{name}` is not a whole number")))
    };
    let count =
        |name: &str| number(name).and_then(|n| usize::try_from(n).map_err(|_| bad(format!("`{name}` is too large"))));
    let version = number("version")?;
    if version != VERSION {
        return Err(bad(format!(
            "training state version {version}; this build reads version {VERSION}"
        )));
    }
    let saved = Settings {
        seed: number("seed")?,
        batch_size: count("batch_size")?,
        train_len: count("train_len")?,
    };
    if saved != settings {
        return Err(bad(format!(
            "written with seed {}, batch size {} and {} training samples; this run has seed {}, batch size {} and {}: \
             resume with the settings and data the run started with",
            saved.seed, saved.batch_size, saved.train_len, settings.seed, settings.batch_size, settings.train_len
        )));
    }
    let optional_f32 = |value: &Value, name: &str| -> Result<Option<f32>> {
        match value.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|bits| u32::try_from(bits).ok())
                .map(|bits| Some(f32::from_bits(bits)))
                .ok_or_else(|| bad(format!("`{name}` is not the bits of an f32"))),
        }
    };
    let mut report = TrainReport {
        best_epoch: match field("best_epoch")? {
            Value::Null => None,
            _ => Some(count("best_epoch")?),
        },
        stopped_early: field("stopped_early")?
            .as_bool()
            .ok_or_else(|| bad("`stopped_early` is not a boolean".into()))?,
        ..TrainReport::default()
    };
    for entry in field("history")?
        .as_array()
        .ok_or_else(|| bad("`history` is not a list".into()))?
    {
        let whole = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("a history entry has no `{name}`")))
        };
        report.epochs.push(EpochReport {
            epoch: usize::try_from(whole("epoch")?).map_err(|_| bad("an epoch is too large".into()))?,
            train_loss: optional_f32(entry, "train_loss_bits")?
                .ok_or_else(|| bad("a history entry has no `train_loss_bits`".into()))?,
            valid_loss: optional_f32(entry, "valid_loss_bits")?,
            valid_accuracy: optional_f32(entry, "valid_accuracy_bits")?,
            seconds: f64::from_bits(whole("seconds_bits")?),
        });
    }
    let position = Position {
        epoch: count("epoch")?,
        step_in_epoch: count("step_in_epoch")?,
        global_step: count("global_step")?,
        epoch_loss: f64::from_bits(number("epoch_loss_bits")?),
        epoch_seen: count("epoch_seen")?,
        best: optional_f32(&state, "best_bits")?,
        epochs_without_improvement: count("epochs_without_improvement")?,
        report,
    };
    if position.report.epochs.len() != position.epoch {
        return Err(bad(format!(
            "the history has {} epochs but the state says {} were completed",
            position.report.epochs.len(),
            position.epoch
        )));
    }
    if position.step_in_epoch > settings.train_len.div_ceil(settings.batch_size) {
        return Err(bad(format!(
            "step {} of an epoch of {} steps",
            position.step_in_epoch,
            settings.train_len.div_ceil(settings.batch_size)
        )));
    }

    // The weights into a copy first, so that a mismatch leaves `net` untouched; then the
    // optimizer (which checks before it changes anything); then the copy into `net`.
    let mut loaded = N::zeros();
    crate::io::load_checkpoint_weights(&mut loaded, path, OPTIM_PREFIX)?;
    let mut non_finite = None;
    loaded.visit_params("", &mut |key, _, values| {
        if non_finite.is_none() && values.iter().any(|v| !v.is_finite()) {
            non_finite = Some(key.to_string());
        }
    });
    if let Some(key) = non_finite {
        return Err(bad(format!("parameter `{key}` is not finite")));
    }
    let optimizer_json = field("optimizer")?;
    let mut optimizer_state = OptimizerState::new(
        optimizer_json
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the optimizer state has no `kind`".into()))?,
    );
    for (name, value) in optimizer_json
        .get("scalars")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("the optimizer state has no `scalars`".into()))?
    {
        let value = value
            .as_u64()
            .ok_or_else(|| bad(format!("the optimizer's `{name}` is not a whole number")))?;
        optimizer_state.scalars.insert(name.clone(), value);
    }
    for (key, values) in extras {
        if !values.is_empty() && values.len() != trainable {
            return Err(bad(format!(
                "`{key}` holds {} values, but this network has {trainable} trainable values",
                values.len()
            )));
        }
        optimizer_state
            .buffers
            .insert(key[OPTIM_PREFIX.len()..].to_string(), values);
    }

    optimizer.load_state(&optimizer_state).map_err(|error| match error {
        Error::InvalidArgument(problem) => bad(problem),
        other => other,
    })?;
    copy_params(&loaded, net);
    Ok(Some(position))
}

/// Copies every parameter, buffer and counter of `from` into `to` (the same type).
fn copy_params<N: Module>(from: &N, to: &mut N) {
    let mut values = Vec::new();
    from.visit_params("", &mut |_, _, v| values.push(v.to_vec()));
    let mut values = values.into_iter();
    to.visit_params_mut("", &mut |_, _, v| {
        if let Some(saved) = values.next() {
            v.copy_from_slice(&saved);
        }
    });
    let mut counters = Vec::new();
    from.visit_counters("", &mut |_, c| counters.push(c));
    let mut counters = counters.into_iter();
    to.visit_counters_mut("", &mut |_, c| {
        if let Some(saved) = counters.next() {
            *c = saved;
        }
    });
}
