//! What training reports: one line of figures per epoch.

use std::fmt;

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

/// Every epoch's figures, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainReport {
    /// One entry per completed epoch.
    pub epochs: Vec<EpochReport>,
}

impl TrainReport {
    /// The last epoch's figures, if any epoch ran.
    pub fn last(&self) -> Option<&EpochReport> {
        self.epochs.last()
    }
}
