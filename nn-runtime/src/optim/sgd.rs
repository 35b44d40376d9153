//! `Sgd`: stochastic gradient descent, as `torch.optim.SGD`.

use super::{decimal, ensure_state, f32_of, trainable_len, Optimizer};
use crate::Module;

/// Stochastic gradient descent, PyTorch's
/// `torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)`.
///
/// Each step follows torch's rule, for every parameter `p` with gradient `g`:
///
/// ```text
/// g = g + weight_decay * p                      if weight_decay != 0
/// if momentum != 0:
///     buf = g                                   on the first step
///     buf = momentum * buf + (1 - dampening) * g   after
///     g = g + momentum * buf   if nesterov,  else  g = buf
/// p = p - lr * g
/// ```
///
/// The momentum buffers are allocated on the first step with a non-zero momentum and reused
/// after. torch refuses `nesterov` with a zero momentum or a non-zero dampening; here the rule
/// above is applied as written (Nesterov then has no effect without momentum).
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
    dampening: f32,
    weight_decay: f32,
    nesterov: bool,
    /// The momentum buffers of every parameter, flat in `zip_params` order; empty before the
    /// first step with momentum.
    buffer: Vec<f32>,
}

impl Sgd {
    /// Plain SGD with learning rate `learning_rate`: no momentum, dampening or weight decay.
    ///
    /// ```
    /// let opt = nn::optim::Sgd::new(0.01);
    /// # use nn::optim::Optimizer;
    /// assert_eq!(opt.learning_rate(), 0.01);
    /// ```
    pub fn new(learning_rate: f32) -> Self {
        Sgd {
            learning_rate,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            buffer: Vec::new(),
        }
    }

    /// Sets the momentum factor (`momentum=` in torch; default 0).
    ///
    /// ```
    /// let opt = nn::optim::Sgd::new(0.01).momentum(0.9);
    /// ```
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening of the momentum (`dampening=` in torch; default 0): after the first
    /// step the buffer adds `(1 - dampening) * g` instead of `g`.
    ///
    /// ```
    /// let opt = nn::optim::Sgd::new(0.01).momentum(0.9).dampening(0.1);
    /// ```
    pub fn dampening(mut self, dampening: f32) -> Self {
        self.dampening = dampening;
        self
    }

    /// Uses Nesterov momentum (`nesterov=True` in torch): the step is `g + momentum * buf`
    /// instead of `buf`.
    ///
    /// ```
    /// let opt = nn::optim::Sgd::new(0.01).momentum(0.9).nesterov(true);
    /// ```
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the L2 penalty (`weight_decay=` in torch; default 0): `weight_decay * p` is added
    /// to the gradient before momentum.
    ///
    /// ```
    /// let opt = nn::optim::Sgd::new(0.01).momentum(0.9).weight_decay(5e-4);
    /// ```
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Sgd {
    fn step<M: Module>(&mut self, params: &mut M, grads: &M) {
        let (lr, mu, wd, nesterov) = (self.learning_rate, self.momentum, self.weight_decay, self.nesterov);
        // torch: `buf.mul_(momentum).add_(grad, alpha=1 - dampening)`, the Python float
        // `1 - dampening` rounded to f32 by the kernel.
        let keep = f32_of(1.0 - decimal(self.dampening));
        // torch: `grad.add(param, alpha=weight_decay)`.
        let decayed = |g: f32, p: f32| if wd != 0.0 { g + wd * p } else { g };
        if mu == 0.0 {
            params.zip_params(grads, &mut |p, g| {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p -= lr * decayed(g, *p);
                }
            });
            return;
        }
        // torch: `buf = grad.detach().clone()` when the parameter has no buffer yet.
        let first = ensure_state(&mut self.buffer, trainable_len(params, grads));
        let mut offset = 0;
        let buffer = &mut self.buffer;
        params.zip_params(grads, &mut |p, g| {
            let end = offset + p.len();
            for ((p, &g), b) in p.iter_mut().zip(g).zip(&mut buffer[offset..end]) {
                let g = decayed(g, *p);
                *b = if first { g } else { *b * mu + keep * g };
                let step = if nesterov { g + mu * *b } else { *b };
                *p -= lr * step;
            }
            offset = end;
        });
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.learning_rate = learning_rate;
    }

    /// Sets `momentum`; the buffers are kept (a schedule may change it at every step).
    fn set_momentum(&mut self, momentum: f32) {
        self.momentum = momentum;
    }
}
