//! `Sgd`: stochastic gradient descent with momentum, as `torch.optim.SGD`.

use super::Optimizer;
use crate::Module;

/// Stochastic gradient descent, PyTorch's `torch.optim.SGD(params, lr, momentum)`.
///
/// With momentum `mu`, each parameter keeps a buffer updated as torch does:
/// `buf = mu * buf + g` (on the first step `buf = g`), then `p -= lr * buf`.
/// Buffers are allocated on the first step and reused after.
///
/// ```
/// use nn::prelude::*;
/// let mut p = Linear::<1, 1>::zeros();
/// let mut g = Linear::<1, 1>::zeros();
/// g.weight[0][0] = 1.0;
/// let mut opt = nn::optim::Sgd::new(0.5).momentum(0.9);
/// opt.step(&mut p, &g); // buf = 1,   w = -0.5
/// opt.step(&mut p, &g); // buf = 1.9, w = -0.5 - 0.95
/// assert!((p.weight[0][0] - (-1.45)).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct Sgd {
    learning_rate: f32,
    momentum: f32,
    /// One momentum buffer per parameter tensor, in `visit_params` order; empty before the first step.
    buffers: Vec<Vec<f32>>,
}

impl Sgd {
    /// Plain SGD with learning rate `learning_rate` and no momentum.
    pub fn new(learning_rate: f32) -> Self {
        Sgd {
            learning_rate,
            momentum: 0.0,
            buffers: Vec::new(),
        }
    }

    /// Sets the momentum factor (`momentum=` in torch).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f32 {
        self.learning_rate
    }
}

impl Optimizer for Sgd {
    fn step<M: Module>(&mut self, params: &mut M, grads: &M) {
        let (lr, mu) = (self.learning_rate, self.momentum);
        if mu == 0.0 {
            params.zip_params(grads, &mut |p, g| p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g));
            return;
        }
        let first_step = self.buffers.is_empty();
        let mut index = 0;
        let buffers = &mut self.buffers;
        params.zip_params(grads, &mut |p, g| {
            if first_step {
                // torch: `buf = torch.clone(g).detach()` on the first step.
                buffers.push(g.to_vec());
            } else {
                buffers[index].iter_mut().zip(g).for_each(|(b, g)| *b = mu * *b + g);
            }
            p.iter_mut().zip(&buffers[index]).for_each(|(p, b)| *p -= lr * b);
            index += 1;
        });
    }
}
