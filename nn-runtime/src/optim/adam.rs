//! `Adam`, as `torch.optim.Adam`, and the update it shares with `AdamW`.

use super::{decimal, ensure_state, f32_of, trainable_len};
use crate::threads::split_slices;
use crate::widest::widest_vectors;
use crate::Module;

/// Values of one tensor from which its update is split across the kernel threads (each value
/// is updated alone, so the split changes no result). An Adam update costs a square root and
/// a division a value, so it pays to split smaller tensors than SGD's.
const PARALLEL_MIN_VALUES: usize = 8_192;

/// Floats in the widest vector: tensors are split between threads in whole vectors.
const VECTOR: usize = 16;

/// Adam, PyTorch's
/// `torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)`.
///
/// Each step follows torch's rule (its single-tensor CPU path, operation for operation), for
/// every parameter `p` with gradient `g`, at step `t` counted from 1:
///
/// ```text
/// g = g + weight_decay * p                                  if weight_decay != 0 (L2)
/// m = m + (1 - beta1) * (g - m)                             (m.lerp_(g, 1 - beta1))
/// v = beta2 * v + (1 - beta2) * g * g
/// bias_correction1 = 1 - beta1^t,  bias_correction2 = 1 - beta2^t   (in f64)
/// max_v = max(max_v, v)                                    if amsgrad (then max_v replaces v below)
/// denom = sqrt(v) / sqrt(bias_correction2) + eps
/// p = p - (lr / bias_correction1) * m / denom
/// ```
///
/// `m` and `v` are allocated (zeros) on the first step and reused after. For weight decay
/// that does not pass through the moments, use [`AdamW`](super::AdamW).
///
/// ```
/// use nn::prelude::*;
/// use nn::optim::Adam;
/// let mut p = Linear::<1, 1>::zeros();
/// let mut g = Linear::<1, 1>::zeros();
/// g.weight[0][0] = 0.5;
/// let mut opt = Adam::new(0.1);
/// opt.step(&mut p, &g);
/// // The first step of Adam moves each parameter by about lr against the gradient's sign.
/// assert!((p.weight[0][0] + 0.1).abs() < 1e-6);
/// assert_eq!(p.bias[0], 0.0); // a zero gradient moves nothing
/// ```
#[derive(Debug, Clone)]
pub struct Adam {
    core: AdamCore,
}

impl Adam {
    /// As [`Adam::new`], but a learning rate that is NaN, infinite or negative is an error
    /// here, as torch raises at construction. `new` accepts any rate; [`crate::Trainer::fit`]
    /// checks it (and each rate a schedule sets) before it touches the weights.
    ///
    /// ```
    /// assert!(nn::optim::Adam::try_new(1e-3).is_ok());
    /// let error = nn::optim::Adam::try_new(-1.0).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "invalid argument: learning rate -1: it must be a finite number, 0 or more"
    /// );
    /// ```
    pub fn try_new(learning_rate: f32) -> crate::Result<Self> {
        super::check_learning_rate(learning_rate)?;
        Ok(Self::new(learning_rate))
    }

    /// Adam with learning rate `learning_rate` and torch's defaults: `betas = (0.9, 0.999)`,
    /// `eps = 1e-8`, no weight decay.
    ///
    /// ```
    /// use nn::optim::{Adam, Optimizer};
    /// assert_eq!(Adam::new(1e-3).learning_rate(), 1e-3);
    /// ```
    pub fn new(learning_rate: f32) -> Self {
        Adam {
            core: AdamCore::new(learning_rate, 0.0, false),
        }
    }

    /// Sets the decay rates of the moment averages (`betas=` in torch; default `(0.9, 0.999)`).
    ///
    /// ```
    /// let opt = nn::optim::Adam::new(1e-3).betas(0.8, 0.99);
    /// ```
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        self.core.beta1 = beta1;
        self.core.beta2 = beta2;
        self
    }

    /// Sets the term added to the denominator (`eps=` in torch; default `1e-8`), after the
    /// bias-corrected square root, as torch adds it.
    ///
    /// ```
    /// let opt = nn::optim::Adam::new(1e-3).eps(1e-6);
    /// ```
    pub fn eps(mut self, eps: f32) -> Self {
        self.core.eps = eps;
        self
    }

    /// Sets the L2 penalty (`weight_decay=` in torch; default 0): `weight_decay * p` is added to
    /// the gradient before the moments are updated.
    ///
    /// ```
    /// let opt = nn::optim::Adam::new(1e-3).weight_decay(1e-4);
    /// ```
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.core.weight_decay = weight_decay;
        self
    }

    /// Uses the AMSGrad variant (`amsgrad=True` in torch; default false): the denominator uses
    /// the largest second moment seen so far, `max_v = max(max_v, v)`, instead of `v`.
    ///
    /// ```
    /// let opt = nn::optim::Adam::new(1e-3).amsgrad(true);
    /// ```
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.core.amsgrad = amsgrad;
        self
    }

    /// The number of steps taken so far (torch's `state[p]["step"]`).
    ///
    /// ```
    /// assert_eq!(nn::optim::Adam::new(1e-3).steps(), 0);
    /// ```
    pub fn steps(&self) -> u64 {
        self.core.steps
    }
}

/// Implements [`Optimizer`] for a wrapper around [`AdamCore`] (Adam and AdamW).
macro_rules! adam_optimizer {
    ($optimizer:ty) => {
        impl $crate::optim::Optimizer for $optimizer {
            fn step<M: $crate::Module>(&mut self, params: &mut M, grads: &M) {
                self.core.step(params, grads);
            }

            fn learning_rate(&self) -> f32 {
                self.core.learning_rate
            }

            fn set_learning_rate(&mut self, learning_rate: f32) {
                self.core.learning_rate = learning_rate;
            }

            /// Sets `beta1`, as torch's `OneCycleLR(cycle_momentum=True)` does for Adam.
            fn set_momentum(&mut self, momentum: f32) {
                self.core.beta1 = momentum;
            }

            fn state(&self) -> $crate::Result<$crate::optim::OptimizerState> {
                Ok(self.core.state(stringify!($optimizer)))
            }

            fn load_state(&mut self, state: &$crate::optim::OptimizerState) -> $crate::Result<()> {
                self.core.load_state(stringify!($optimizer), state)
            }
        }
    };
}
pub(super) use adam_optimizer;

adam_optimizer!(Adam);

/// The state and update of Adam and AdamW, which differ only in where weight decay applies.
#[derive(Debug, Clone)]
pub(super) struct AdamCore {
    pub(super) learning_rate: f32,
    pub(super) beta1: f32,
    pub(super) beta2: f32,
    pub(super) eps: f32,
    pub(super) weight_decay: f32,
    /// AdamW: `p *= 1 - lr * weight_decay` before the update, instead of L2 in the gradient.
    decoupled: bool,
    /// AMSGrad: the denominator uses `max_exp_avg_sq`, the running maximum of `exp_avg_sq`.
    pub(super) amsgrad: bool,
    /// Steps taken since the state was allocated.
    pub(super) steps: u64,
    /// First moments (`exp_avg`), flat in `zip_params` order; empty before the first step.
    exp_avg: Vec<f32>,
    /// Second moments (`exp_avg_sq`), as `exp_avg`.
    exp_avg_sq: Vec<f32>,
    /// AMSGrad's running maximum of `exp_avg_sq` (`max_exp_avg_sq`); empty without AMSGrad.
    max_exp_avg_sq: Vec<f32>,
}

impl AdamCore {
    pub(super) fn new(learning_rate: f32, weight_decay: f32, decoupled: bool) -> Self {
        AdamCore {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            decoupled,
            amsgrad: false,
            steps: 0,
            exp_avg: Vec::new(),
            exp_avg_sq: Vec::new(),
            max_exp_avg_sq: Vec::new(),
        }
    }

    /// The state, exactly (see [`super::Optimizer::state`]).
    pub(super) fn state(&self, kind: &str) -> super::OptimizerState {
        super::OptimizerState::new(kind)
            .with_f32("learning_rate", self.learning_rate)
            .with_f32("beta1", self.beta1)
            .with_f32("beta2", self.beta2)
            .with_f32("eps", self.eps)
            .with_f32("weight_decay", self.weight_decay)
            .with_u64("amsgrad", u64::from(self.amsgrad))
            .with_u64("steps", self.steps)
            .with_buffer("exp_avg", &self.exp_avg)
            .with_buffer("exp_avg_sq", &self.exp_avg_sq)
            .with_buffer("max_exp_avg_sq", &self.max_exp_avg_sq)
    }

    /// Restores [`AdamCore::state`]'s state, checking it first (the optimizer unchanged on error).
    pub(super) fn load_state(&mut self, kind: &str, state: &super::OptimizerState) -> crate::Result<()> {
        state.expect_kind(kind)?;
        state.expect_f32("beta2", self.beta2)?;
        state.expect_f32("eps", self.eps)?;
        state.expect_f32("weight_decay", self.weight_decay)?;
        if state.u64("amsgrad")? != u64::from(self.amsgrad) {
            return Err(crate::Error::InvalidArgument(format!(
                "the saved {kind} state has amsgrad {}, this optimizer {}: resume with the settings the run started with",
                !self.amsgrad, self.amsgrad
            )));
        }
        let (exp_avg, exp_avg_sq, max) = (
            state.buffer("exp_avg"),
            state.buffer("exp_avg_sq"),
            state.buffer("max_exp_avg_sq"),
        );
        let max_len = if self.amsgrad { exp_avg.len() } else { 0 };
        if exp_avg_sq.len() != exp_avg.len() || max.len() != max_len {
            return Err(crate::Error::InvalidArgument(format!(
                "the saved {kind} state's moments have different lengths ({}, {}, {})",
                exp_avg.len(),
                exp_avg_sq.len(),
                max.len()
            )));
        }
        let (learning_rate, beta1, steps) = (state.f32("learning_rate")?, state.f32("beta1")?, state.u64("steps")?);
        self.learning_rate = learning_rate;
        self.beta1 = beta1;
        self.steps = steps;
        self.exp_avg = exp_avg.to_vec();
        self.exp_avg_sq = exp_avg_sq.to_vec();
        self.max_exp_avg_sq = max.to_vec();
        Ok(())
    }

    pub(super) fn step<M: Module>(&mut self, params: &mut M, grads: &M) {
        // torch: `exp_avg`, `exp_avg_sq` = zeros and `step` = 0 for a parameter without state.
        if ensure_state(&mut self.exp_avg, trainable_len(params, grads)) {
            self.exp_avg_sq = vec![0.0; self.exp_avg.len()];
            self.max_exp_avg_sq = if self.amsgrad {
                vec![0.0; self.exp_avg.len()]
            } else {
                Vec::new()
            };
            self.steps = 0;
        }
        self.steps += 1;

        // Scalars as torch computes them: Python floats (f64), each rounded to f32 where a
        // kernel takes it.
        let (lr, beta1, beta2) = (decimal(self.learning_rate), decimal(self.beta1), decimal(self.beta2));
        let t = self.steps as f64;
        let bias_correction1 = 1.0 - beta1.powf(t);
        let bias_correction2 = 1.0 - beta2.powf(t);
        let neg_step_size = f32_of(-(lr / bias_correction1));
        let bias_correction2_sqrt = f32_of(bias_correction2.sqrt());
        let weight1 = f32_of(1.0 - beta1); // exp_avg.lerp_(grad, 1 - beta1)
        let weight2 = f32_of(1.0 - beta2); // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        let (beta2, eps, wd) = (self.beta2, self.eps, self.weight_decay);
        let decay = if self.decoupled && wd != 0.0 {
            Some(f32_of(1.0 - lr * decimal(wd))) // param.mul_(1 - lr * weight_decay)
        } else {
            None
        };
        let l2 = !self.decoupled && wd != 0.0;

        let constants = Constants {
            decay: decay.unwrap_or(1.0),
            wd,
            weight1,
            weight2,
            beta2,
            eps,
            bias_correction2_sqrt,
            neg_step_size,
        };
        // The settings are fixed for the whole step: each combination gets a loop without
        // branches, which the compiler vectorises.
        let update = match (decay.is_some(), l2, weight1.abs() < 0.5) {
            (false, false, true) => update::<false, false, true>,
            (false, false, false) => update::<false, false, false>,
            (false, true, true) => update::<false, true, true>,
            (false, true, false) => update::<false, true, false>,
            (true, false, true) => update::<true, false, true>,
            (true, false, false) => update::<true, false, false>,
            (true, true, true) => update::<true, true, true>,
            (true, true, false) => update::<true, true, false>,
        };
        let mut offset = 0;
        let (exp_avg, exp_avg_sq, max_exp_avg_sq) = (&mut self.exp_avg, &mut self.exp_avg_sq, &mut self.max_exp_avg_sq);
        params.zip_params(grads, &mut |p, g| {
            let end = offset + p.len();
            let (m, v) = (&mut exp_avg[offset..end], &mut exp_avg_sq[offset..end]);
            let constants = &constants;
            // With AMSGrad, each value's running maximum too.
            match max_exp_avg_sq.get_mut(offset..end) {
                Some(maxima) => split_slices(
                    [p, m, v, maxima],
                    VECTOR,
                    1,
                    PARALLEL_MIN_VALUES,
                    |first, [p, m, v, maxima]: [&mut [f32]; 4]| {
                        update(constants, p, &g[first..first + p.len()], m, v, maxima);
                    },
                ),
                None => split_slices(
                    [p, m, v],
                    VECTOR,
                    1,
                    PARALLEL_MIN_VALUES,
                    |first, [p, m, v]: [&mut [f32]; 3]| {
                        update(constants, p, &g[first..first + p.len()], m, v, &mut []);
                    },
                ),
            }
            offset = end;
        });
    }
}

/// What one Adam step multiplies and adds, as f32.
struct Constants {
    /// AdamW's `1 - lr * weight_decay` (1 without decoupled decay).
    decay: f32,
    /// Adam's L2 weight decay.
    wd: f32,
    weight1: f32,
    weight2: f32,
    beta2: f32,
    eps: f32,
    bias_correction2_sqrt: f32,
    neg_step_size: f32,
}

widest_vectors! {
    /// One Adam step on a tensor `p` with gradient `g` and moments `m`, `v` (and AMSGrad's
    /// running maxima, or an empty slice): `DECAY` is AdamW's decoupled decay, `L2` Adam's
    /// weight decay in the gradient, `SMALL_WEIGHT` which form of `lerp` torch uses for
    /// `1 - beta1`.
    fn update<const DECAY: bool, const L2: bool, const SMALL_WEIGHT: bool>(
        c: &Constants,
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        maxima: &mut [f32],
    ) {
        if maxima.is_empty() {
            update_all::<DECAY, L2, SMALL_WEIGHT, false>(c, p, g, m, v, maxima)
        } else {
            update_all::<DECAY, L2, SMALL_WEIGHT, true>(c, p, g, m, v, maxima)
        }
    }
}

#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn update_all<const DECAY: bool, const L2: bool, const SMALL_WEIGHT: bool, const AMSGRAD: bool>(
    c: &Constants,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    maxima: &mut [f32],
) {
    let n = p.len().min(g.len()).min(m.len()).min(v.len());
    let (p, g, m, v) = (&mut p[..n], &g[..n], &mut m[..n], &mut v[..n]);
    let maxima = if AMSGRAD { &mut maxima[..n] } else { maxima };
    for i in 0..n {
        if DECAY {
            p[i] *= c.decay;
        }
        let grad = if L2 { g[i] + c.wd * p[i] } else { g[i] };
        // `exp_avg.lerp_(grad, 1 - beta1)`, in the form ATen's f32 `lerp` takes for the weight.
        m[i] = if SMALL_WEIGHT {
            m[i] + c.weight1 * (grad - m[i])
        } else {
            grad - (grad - m[i]) * (1.0 - c.weight1)
        };
        v[i] = v[i] * c.beta2 + c.weight2 * grad * grad;
        // torch: `torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)`.
        let second = if AMSGRAD {
            maxima[i] = maxima[i].max(v[i]);
            maxima[i]
        } else {
            v[i]
        };
        let denom = second.sqrt() / c.bias_correction2_sqrt + c.eps;
        p[i] += c.neg_step_size * m[i] / denom;
    }
}
