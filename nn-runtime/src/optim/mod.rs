//! Optimizers, each following the update rule of its `torch.optim` namesake exactly.

mod sgd;

pub use sgd::Sgd;

use crate::Module;

/// Updates a model's parameters from its gradients (a model-shaped [`Module`]).
pub trait Optimizer {
    /// One update step: `params` moves against `grads`.
    fn step<M: Module>(&mut self, params: &mut M, grads: &M);
}
