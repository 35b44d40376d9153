//! Training: the allocation-free [`Workspace`] step, the [`Trainer`] loop, and [`evaluate`].

mod evaluate;
mod report;
mod trainer;
mod workspace;

pub use evaluate::{evaluate, Evaluation};
pub use report::{EpochReport, TrainReport};
pub use trainer::Trainer;
pub(crate) use workspace::gather;
pub use workspace::Workspace;
