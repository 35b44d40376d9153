//! Training: the allocation-free [`Workspace`] step, the [`Trainer`] loop (progress, early
//! stopping, checkpoints, clipping, history as CSV, JSON or a plot), and [`evaluate`].

mod config;
mod evaluate;
mod monitor;
#[cfg(feature = "plot")]
mod plot;
mod progress;
mod report;
mod resume;
mod trainer;
mod workspace;

pub use config::TrainConfig;
pub use evaluate::{evaluate, evaluate_in_batches, Evaluation};
pub use monitor::Monitor;
pub use progress::Progress;
pub use report::{EpochReport, TrainReport};
pub use trainer::Trainer;
pub(crate) use workspace::gather;
pub use workspace::Workspace;
