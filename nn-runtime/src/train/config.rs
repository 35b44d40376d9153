//! The plain-value settings of a [`super::Trainer`], kept beside a run's history.

use std::path::PathBuf;

use super::Monitor;

/// The settings of a [`Trainer`](super::Trainer) that are plain values: what a record of a run
/// needs to say how it was trained. [`Trainer::config`](super::Trainer::config) gives them, and
/// [`Trainer::with_config`](super::Trainer::with_config) sets them all at once. The loss, the
/// schedule, the callback and how progress is shown are not part of it.
///
/// With the `serde` feature it serialises, and a missing field takes its default, so a
/// configuration file names only what it changes.
///
/// ```
/// let mut config = nn::train::TrainConfig::default();
/// config.epochs = 3;
/// config.shuffle = false;
/// let trainer = nn::Trainer::new(nn::loss::CrossEntropy).with_config(config.clone());
/// assert_eq!(trainer.config(), &config);
/// assert_eq!(trainer.config().batch_size, 64);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct TrainConfig {
    /// Passes over the training set (default 10).
    pub epochs: usize,
    /// Samples per step (default 64).
    pub batch_size: usize,
    /// Seed of the shuffling (default 0).
    pub seed: u64,
    /// Whether each epoch visits the training samples in a new random order (default `true`);
    /// `false` visits them in their order in the dataset, every epoch.
    pub shuffle: bool,
    /// The figure that decides the best epoch; `None`: validation loss with a validation set,
    /// training loss without.
    pub monitor: Option<Monitor>,
    /// Early-stopping patience in epochs (default `None`: no early stopping).
    pub early_stopping: Option<usize>,
    /// Maximum global L2 norm of the gradients (default `None`: no clipping).
    pub clip_grad_norm: Option<f32>,
    /// Where the best epoch's weights are saved (default `None`).
    pub checkpoint: Option<PathBuf>,
    /// Where the training checkpoint that makes the run resumable is kept (default `None`).
    pub resume_checkpoint: Option<PathBuf>,
    /// Also write the training checkpoint every this many steps (default `None`: at the end of
    /// each epoch only).
    pub resume_every_steps: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            seed: 0,
            shuffle: true,
            monitor: None,
            early_stopping: None,
            clip_grad_norm: None,
            checkpoint: None,
            resume_checkpoint: None,
            resume_every_steps: None,
        }
    }
}

// Compiled only with the `serde` feature, which the dev-dependency on `nn` turns on in tests.
#[cfg(test)]
mod tests {
    use super::{Monitor, TrainConfig};

    #[test]
    fn a_configuration_round_trips_and_missing_fields_take_their_defaults() {
        let config = TrainConfig {
            epochs: 3,
            shuffle: false,
            monitor: Some(Monitor::ValidAccuracy),
            checkpoint: Some("best.safetensors".into()),
            clip_grad_norm: Some(1.5),
            ..TrainConfig::default()
        };
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), config);

        let partial: TrainConfig = serde_json::from_str(r#"{"epochs": 5, "monitor": "ValidLoss"}"#).unwrap();
        let expected = TrainConfig {
            epochs: 5,
            monitor: Some(Monitor::ValidLoss),
            ..TrainConfig::default()
        };
        assert_eq!(partial, expected);
    }
}
