//! `Sgd`: stochastic gradient descent, as `torch.optim.SGD`.

use super::{decimal, ensure_state, f32_of, trainable_len, Optimizer};
use crate::threads::split_rows_with;
use crate::widest::widest_vectors;
use crate::Module;

/// Values of one tensor from which its update is split across the kernel threads (each value
/// is updated alone, so the split changes no result). Low, because the threads that computed a
/// weight's gradient hold its rows in their caches: updating a 128x64 weight on one of two
/// threads, which must fetch the other's half, took 4.5 times as long as on one thread alone,
/// and split across both it is back near that time. Below this size a launch costs more than
/// the update.
const PARALLEL_MIN_VALUES: usize = 4_096;

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
    /// As [`Sgd::new`], but a learning rate that is NaN, infinite or negative is an error
    /// here, as torch raises at construction. `new` accepts any rate; [`crate::Trainer::fit`]
    /// checks it (and each rate a schedule sets) before it touches the weights.
    ///
    /// ```
    /// assert!(nn::optim::Sgd::try_new(1e-3).is_ok());
    /// let error = nn::optim::Sgd::try_new(-1.0).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "invalid argument: learning rate -1: it must be a finite number, 0 or more"
    /// );
    /// ```
    pub fn try_new(learning_rate: f32) -> crate::Result<Self> {
        super::check_learning_rate(learning_rate)?;
        Ok(Self::new(learning_rate))
    }

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
        let rule = Rule {
            lr: self.learning_rate,
            mu: self.momentum,
            // torch: `buf.mul_(momentum).add_(grad, alpha=1 - dampening)`, the Python float
            // `1 - dampening` rounded to f32 by the kernel.
            keep: f32_of(1.0 - decimal(self.dampening)),
            wd: self.weight_decay,
        };
        if rule.mu == 0.0 {
            params.zip_params(grads, &mut |p, g| rule.plain(p, g));
            return;
        }
        // torch: `buf = grad.detach().clone()` when the parameter has no buffer yet.
        let first_step = ensure_state(&mut self.buffer, trainable_len(params, grads));
        let nesterov = self.nesterov;
        let mut offset = 0;
        let buffer = &mut self.buffer;
        params.zip_params(grads, &mut |p, g| {
            let end = offset + p.len();
            split_rows_with(p, &mut buffer[offset..end], 1, 1, PARALLEL_MIN_VALUES, |first, p, b| {
                let g = &g[first..first + p.len()];
                // One loop per case, each a straight vectorised loop: with the flags tested
                // inside the loop the step took 1.5x as long (seed MLP, 50 -> 34 us).
                match (first_step, nesterov) {
                    (true, false) => rule.momentum::<true, false>(p, g, b),
                    (false, false) => rule.momentum::<false, false>(p, g, b),
                    (true, true) => rule.momentum::<true, true>(p, g, b),
                    (false, true) => rule.momentum::<false, true>(p, g, b),
                }
            });
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

    fn state(&self) -> crate::Result<super::OptimizerState> {
        Ok(super::OptimizerState::new("Sgd")
            .with_f32("learning_rate", self.learning_rate)
            .with_f32("momentum", self.momentum)
            .with_f32("dampening", self.dampening)
            .with_f32("weight_decay", self.weight_decay)
            .with_u64("nesterov", u64::from(self.nesterov))
            .with_buffer("momentum_buffer", &self.buffer))
    }

    fn load_state(&mut self, state: &super::OptimizerState) -> crate::Result<()> {
        state.expect_kind("Sgd")?;
        state.expect_f32("dampening", self.dampening)?;
        state.expect_f32("weight_decay", self.weight_decay)?;
        if state.u64("nesterov")? != u64::from(self.nesterov) {
            return Err(crate::Error::InvalidArgument(format!(
                "the saved Sgd state has nesterov {}, this optimizer {}: resume with the settings the run started with",
                !self.nesterov, self.nesterov
            )));
        }
        let (learning_rate, momentum) = (state.f32("learning_rate")?, state.f32("momentum")?);
        self.learning_rate = learning_rate;
        self.momentum = momentum;
        self.buffer = state.buffer("momentum_buffer").to_vec();
        Ok(())
    }
}

/// The numbers of one SGD step.
#[derive(Clone, Copy)]
struct Rule {
    lr: f32,
    mu: f32,
    keep: f32,
    wd: f32,
}

impl Rule {
    /// torch: `grad.add(param, alpha=weight_decay)`.
    #[inline(always)]
    fn decayed(self, g: f32, p: f32) -> f32 {
        if self.wd != 0.0 {
            g + self.wd * p
        } else {
            g
        }
    }

    /// Without momentum: `p -= lr * g`.
    fn plain(self, p: &mut [f32], g: &[f32]) {
        for (p, &g) in p.iter_mut().zip(g) {
            *p -= self.lr * self.decayed(g, *p);
        }
    }

    /// With momentum buffer `b`: `b = mu * b + (1 - dampening) * g` (`b = g` at the first step),
    /// then `p -= lr * b`, or `p -= lr * (g + mu * b)` with Nesterov.
    fn momentum<const FIRST: bool, const NESTEROV: bool>(self, p: &mut [f32], g: &[f32], b: &mut [f32]) {
        momentum::<FIRST, NESTEROV>(self, p, g, b)
    }
}

widest_vectors! {
    /// [`Rule::momentum`]'s loop, compiled for the widest vectors the CPU has.
    fn momentum<const FIRST: bool, const NESTEROV: bool>(rule: Rule, p: &mut [f32], g: &[f32], b: &mut [f32]) {
        let n = p.len().min(g.len()).min(b.len());
        for i in 0..n {
            let g = rule.decayed(g[i], p[i]);
            b[i] = if FIRST { g } else { b[i] * rule.mu + rule.keep * g };
            let step = if NESTEROV { g + rule.mu * b[i] } else { b[i] };
            p[i] -= rule.lr * step;
        }
    }
}
