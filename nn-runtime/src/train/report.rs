//! What training reports: one line of figures per epoch, kept as a history that can be saved
//! as CSV or JSON.

use std::fmt::{self, Write};
use std::path::Path;

use crate::io::write_atomically;
use crate::Result;

/// The figures of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// Mean training loss per sample over the epoch.
    pub train_loss: f32,
    /// Mean loss on the validation set, if one was given.
    pub valid_loss: Option<f32>,
    /// Accuracy on the validation set in `[0, 1]`, if one was given and the loss classifies.
    pub valid_accuracy: Option<f32>,
    /// Wall-clock seconds for the epoch's training (without validation).
    pub seconds: f64,
}

impl fmt::Display for EpochReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {:>3}  train loss {:.4}", self.epoch, self.train_loss)?;
        if let Some(loss) = self.valid_loss {
            write!(f, "  valid loss {loss:.4}")?;
        }
        if let Some(accuracy) = self.valid_accuracy {
            write!(f, "  valid accuracy {:.2}%", accuracy * 100.0)?;
        }
        write!(f, "  {:.2} s", self.seconds)
    }
}

/// Every epoch's figures, in order, and how training ended.
///
/// ```
/// use nn::train::{EpochReport, TrainReport};
/// let mut report = TrainReport::default();
/// report.epochs.push(EpochReport { epoch: 1, train_loss: 0.5, valid_loss: None, valid_accuracy: Some(0.9), seconds: 1.5 });
/// assert_eq!(report.to_csv(), "epoch,train_loss,valid_loss,valid_accuracy,seconds\n1,0.5,,0.9,1.5\n");
/// assert!(report.to_json().contains(r#""valid_loss":null"#));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainReport {
    /// One entry per completed epoch.
    pub epochs: Vec<EpochReport>,
    /// The epoch with the best monitored value, when a metric was monitored.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended training before the last epoch.
    pub stopped_early: bool,
}

impl TrainReport {
    /// The last epoch's figures, if any epoch ran.
    pub fn last(&self) -> Option<&EpochReport> {
        self.epochs.last()
    }

    /// The history as CSV: a header, then one row per epoch; a figure that was not measured is
    /// an empty cell.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("epoch,train_loss,valid_loss,valid_accuracy,seconds\n");
        for e in &self.epochs {
            let optional = |value: Option<f32>| value.map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "{},{},{},{},{}",
                e.epoch,
                e.train_loss,
                optional(e.valid_loss),
                optional(e.valid_accuracy),
                e.seconds
            );
        }
        out
    }

    /// The history as JSON: `{"best_epoch": .., "stopped_early": .., "epochs": [{..}, ..]}`; a
    /// figure that was not measured, or is not finite, is `null`.
    pub fn to_json(&self) -> String {
        let number = |value: Option<f64>| match value {
            Some(v) if v.is_finite() => v.to_string(),
            _ => "null".to_string(),
        };
        let epochs: Vec<String> = self
            .epochs
            .iter()
            .map(|e| {
                format!(
                    r#"{{"epoch":{},"train_loss":{},"valid_loss":{},"valid_accuracy":{},"seconds":{}}}"#,
                    e.epoch,
                    number(Some(f64::from(e.train_loss))),
                    number(e.valid_loss.map(f64::from)),
                    number(e.valid_accuracy.map(f64::from)),
                    number(Some(e.seconds))
                )
            })
            .collect();
        format!(
            r#"{{"best_epoch":{},"stopped_early":{},"epochs":[{}]}}"#,
            self.best_epoch.map_or("null".to_string(), |b| b.to_string()),
            self.stopped_early,
            epochs.join(",")
        )
    }

    /// Writes [`TrainReport::to_csv`] to `path` (atomically: a temporary file, then a rename).
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), self.to_csv().as_bytes())
    }

    /// Writes [`TrainReport::to_json`] to `path` (atomically).
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), self.to_json().as_bytes())
    }
}
