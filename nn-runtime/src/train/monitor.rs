//! Which figure decides the best epoch and early stopping.

use super::EpochReport;

/// A figure of each epoch to watch: the best epoch is the one where it is best, and early
/// stopping counts epochs without improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Monitor {
    /// Validation loss, lower is better (the default when a validation set is given).
    ValidLoss,
    /// Validation accuracy, higher is better.
    ValidAccuracy,
    /// Training loss, lower is better (the default without a validation set).
    TrainLoss,
}

impl Monitor {
    /// The watched figure of `epoch`, if it was measured.
    pub fn value(self, epoch: &EpochReport) -> Option<f32> {
        match self {
            Monitor::ValidLoss => epoch.valid_loss,
            Monitor::ValidAccuracy => epoch.valid_accuracy,
            Monitor::TrainLoss => Some(epoch.train_loss),
        }
    }

    /// Whether `candidate` improves on `best`.
    pub fn improves(self, candidate: f32, best: f32) -> bool {
        match self {
            Monitor::ValidAccuracy => candidate > best,
            Monitor::ValidLoss | Monitor::TrainLoss => candidate < best,
        }
    }
}
