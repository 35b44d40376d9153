//! `AdamW`: Adam with decoupled weight decay, as `torch.optim.AdamW`.

use super::adam::{adam_optimizer, AdamCore};

/// Adam with decoupled weight decay, PyTorch's
/// `torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
/// amsgrad=False)`.
///
/// Each step first shrinks every parameter, `p = p * (1 - lr * weight_decay)`, then applies
/// [`Adam`](super::Adam)'s update with the unchanged gradient, so the decay does not pass
/// through the moment estimates.
///
/// ```
/// use nn::prelude::*;
/// use nn::optim::AdamW;
/// let mut p = Linear::<1, 1>::zeros();
/// p.bias[0] = 1.0;
/// let g = Linear::<1, 1>::zeros(); // no gradient: only the decay acts
/// let mut opt = AdamW::new(0.1).weight_decay(0.5);
/// opt.step(&mut p, &g);
/// assert!((p.bias[0] - 0.95).abs() < 1e-7); // 1 * (1 - 0.1 * 0.5)
/// ```
#[derive(Debug, Clone)]
pub struct AdamW {
    core: AdamCore,
}

impl AdamW {
    /// As [`AdamW::new`], but a learning rate that is NaN, infinite or negative is an error
    /// here, as torch raises at construction. `new` accepts any rate; [`crate::Trainer::fit`]
    /// checks it (and each rate a schedule sets) before it touches the weights.
    ///
    /// ```
    /// assert!(nn::optim::AdamW::try_new(1e-3).is_ok());
    /// let error = nn::optim::AdamW::try_new(-1.0).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "invalid argument: learning rate -1: it must be a finite number, 0 or more"
    /// );
    /// ```
    pub fn try_new(learning_rate: f32) -> crate::Result<Self> {
        super::check_learning_rate(learning_rate)?;
        Ok(Self::new(learning_rate))
    }

    /// AdamW with learning rate `learning_rate` and torch's defaults: `betas = (0.9, 0.999)`,
    /// `eps = 1e-8`, `weight_decay = 1e-2`.
    ///
    /// ```
    /// use nn::optim::{AdamW, Optimizer};
    /// assert_eq!(AdamW::new(1e-3).learning_rate(), 1e-3);
    /// ```
    pub fn new(learning_rate: f32) -> Self {
        AdamW {
            core: AdamCore::new(learning_rate, 1e-2, true),
        }
    }

    /// Sets the decay rates of the moment averages (`betas=` in torch; default `(0.9, 0.999)`).
    ///
    /// ```
    /// let opt = nn::optim::AdamW::new(1e-3).betas(0.9, 0.95);
    /// ```
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        self.core.beta1 = beta1;
        self.core.beta2 = beta2;
        self
    }

    /// Sets the term added to the denominator (`eps=` in torch; default `1e-8`).
    ///
    /// ```
    /// let opt = nn::optim::AdamW::new(1e-3).eps(1e-6);
    /// ```
    pub fn eps(mut self, eps: f32) -> Self {
        self.core.eps = eps;
        self
    }

    /// Sets the decoupled weight decay (`weight_decay=` in torch; default `1e-2`): each step
    /// multiplies the parameters by `1 - lr * weight_decay` before the Adam update.
    ///
    /// ```
    /// let opt = nn::optim::AdamW::new(1e-3).weight_decay(0.1);
    /// ```
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.core.weight_decay = weight_decay;
        self
    }

    /// Uses the AMSGrad variant (`amsgrad=True` in torch; default false), as
    /// [`Adam::amsgrad`](super::Adam::amsgrad).
    ///
    /// ```
    /// let opt = nn::optim::AdamW::new(1e-3).amsgrad(true);
    /// ```
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.core.amsgrad = amsgrad;
        self
    }

    /// The number of steps taken so far (torch's `state[p]["step"]`).
    ///
    /// ```
    /// assert_eq!(nn::optim::AdamW::new(1e-3).steps(), 0);
    /// ```
    pub fn steps(&self) -> u64 {
        self.core.steps
    }
}

adam_optimizer!(AdamW);
