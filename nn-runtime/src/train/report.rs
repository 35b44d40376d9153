//! What training reports: one line of figures per epoch, kept as a history that can be saved
//! as CSV or JSON.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::io::write_atomically;
use crate::Result;

/// The figures of one epoch.
///
/// With the `serde` feature it serialises with the field names below; a figure that was not
/// measured, or is not finite, is `null` in JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
/// assert_eq!(
///     report.to_json(),
///     r#"{"best_epoch":null,"stopped_early":false,"epochs":[{"epoch":1,"train_loss":0.5,"valid_loss":null,"valid_accuracy":0.9,"seconds":1.5}]}"#
/// );
/// ```
///
/// With the `serde` feature it serialises as [`TrainReport::to_json`] writes it, and reads back.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrainReport {
    /// The epoch with the best monitored value, when a metric was monitored.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended training before the last epoch.
    pub stopped_early: bool,
    /// One entry per completed epoch.
    pub epochs: Vec<EpochReport>,
}

/// The fields of an [`EpochReport`] as the CSV and JSON files hold them (in this crate whether
/// or not the `serde` feature gives the public types their own `Serialize`).
#[derive(Serialize)]
struct EpochRow {
    epoch: usize,
    train_loss: f32,
    valid_loss: Option<f32>,
    valid_accuracy: Option<f32>,
    seconds: f64,
}

impl From<&EpochReport> for EpochRow {
    fn from(e: &EpochReport) -> Self {
        EpochRow {
            epoch: e.epoch,
            train_loss: e.train_loss,
            valid_loss: e.valid_loss,
            valid_accuracy: e.valid_accuracy,
            seconds: e.seconds,
        }
    }
}

/// A [`TrainReport`] as its JSON file holds it.
#[derive(Serialize)]
struct ReportRecord {
    best_epoch: Option<usize>,
    stopped_early: bool,
    epochs: Vec<EpochRow>,
}

impl TrainReport {
    /// The last epoch's figures, if any epoch ran.
    pub fn last(&self) -> Option<&EpochReport> {
        self.epochs.last()
    }

    /// The history as CSV: a header, then one row per epoch; a figure that was not measured is
    /// an empty cell.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        // Writing plain numbers into memory cannot fail; a header alone stands for no epochs.
        let _ = writer.write_record(["epoch", "train_loss", "valid_loss", "valid_accuracy", "seconds"]);
        for e in &self.epochs {
            let _ = writer.serialize(EpochRow::from(e));
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// The history as JSON: `{"best_epoch": .., "stopped_early": .., "epochs": [{..}, ..]}`; a
    /// figure that was not measured, or is not finite, is `null`.
    pub fn to_json(&self) -> String {
        let record = ReportRecord {
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
            epochs: self.epochs.iter().map(EpochRow::from).collect(),
        };
        serde_json::to_string(&record).unwrap_or_default()
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

// Compiled only with the `serde` feature, which the dev-dependency on `nn` turns on in tests.
#[cfg(test)]
mod tests {
    use super::{EpochReport, TrainReport};

    fn report() -> TrainReport {
        let epoch = |epoch, train_loss, valid_loss, valid_accuracy| EpochReport {
            epoch,
            train_loss,
            valid_loss,
            valid_accuracy,
            seconds: 0.125 * epoch as f64,
        };
        TrainReport {
            best_epoch: Some(2),
            stopped_early: true,
            epochs: vec![
                epoch(1, 0.75, Some(0.5), Some(0.8)),
                epoch(2, 0.1, Some(0.3), Some(0.9)),
                epoch(3, 1e-7, None, None),
            ],
        }
    }

    #[test]
    fn serde_writes_what_to_json_writes_and_reads_it_back() {
        let report = report();
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(json, report.to_json());
        assert_eq!(serde_json::from_str::<TrainReport>(&json).unwrap(), report);
        assert_eq!(serde_json::from_str::<TrainReport>(&report.to_json()).unwrap(), report);
    }

    #[test]
    fn the_csv_reads_back_into_the_epochs() {
        let report = report();
        let csv = report.to_csv();
        assert!(
            csv.starts_with("epoch,train_loss,valid_loss,valid_accuracy,seconds\n1,0.75,0.5,0.8,0.125\n"),
            "{csv}"
        );
        let epochs: Vec<EpochReport> = csv::Reader::from_reader(csv.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(epochs, report.epochs);
    }

    #[test]
    fn a_figure_that_is_not_finite_is_null() {
        let mut report = report();
        report.epochs[0].valid_loss = Some(f32::NAN);
        assert!(report.to_json().contains(r#""valid_loss":null"#));
        assert_eq!(serde_json::to_string(&report).unwrap(), report.to_json());
        // Read back, a figure that was NaN is one that was not measured.
        let back: TrainReport = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(back.epochs[0].valid_loss, None);
    }

    #[test]
    fn an_empty_history_is_a_header_and_an_empty_list() {
        let empty = TrainReport::default();
        assert_eq!(empty.to_csv(), "epoch,train_loss,valid_loss,valid_accuracy,seconds\n");
        assert_eq!(
            empty.to_json(),
            r#"{"best_epoch":null,"stopped_early":false,"epochs":[]}"#
        );
    }
}
