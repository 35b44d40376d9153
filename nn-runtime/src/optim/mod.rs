//! Optimizers, each following the update rule of its `torch.optim` namesake exactly, and
//! learning-rate schedules matching `torch.optim.lr_scheduler`.
//!
//! | here | PyTorch |
//! | --- | --- |
//! | [`Sgd`] | `torch.optim.SGD` (momentum, dampening, Nesterov, weight decay) |
//! | [`Adam`] | `torch.optim.Adam` (weight decay as L2 added to the gradient) |
//! | [`AdamW`] | `torch.optim.AdamW` (decoupled weight decay) |
//! | [`StepLr`] | `lr_scheduler.StepLR` |
//! | [`ExponentialLr`] | `lr_scheduler.ExponentialLR` |
//! | [`CosineAnnealingLr`] | `lr_scheduler.CosineAnnealingLR` |
//! | [`LinearLr`] | `lr_scheduler.LinearLR` (linear warm-up) |
//! | [`OneCycleLr`] | `lr_scheduler.OneCycleLR` |
//! | [`SequentialLr`] ([`Schedule::then`]) | `lr_scheduler.SequentialLR` (e.g. warm-up, then cosine) |
//!
//! Optimizer state (momentum buffers, Adam's moments) is allocated on the first
//! [`Optimizer::step`] and reused after, so later steps perform no heap allocation. The state
//! belongs to one model: it is sized by the model's trainable parameters, and stepping a model
//! with a different number of them (another model, or a layer frozen or unfrozen) starts it
//! afresh.
//!
//! A schedule is a pure function of the step (or epoch) index; [`Schedule::apply`] writes its
//! value into an optimizer before a step:
//!
//! ```
//! use nn::optim::{Adam, CosineAnnealingLr, Optimizer, Schedule};
//! use nn::prelude::*;
//!
//! let mut net = Linear::<2, 1>::zeros();
//! let mut grads = Linear::<2, 1>::zeros();
//! grads.bias[0] = 1.0;
//! let schedule = CosineAnnealingLr::new(0.01, 10);
//! let mut opt = Adam::new(0.01);
//! for epoch in 0..10 {
//!     schedule.apply(&mut opt, epoch); // torch: `scheduler.step()` after each epoch
//!     opt.step(&mut net, &grads);
//! }
//! assert!((opt.learning_rate() - schedule.learning_rate(9)).abs() < 1e-9);
//! ```

mod adam;
mod adamw;
mod schedule;
mod sgd;

pub use adam::Adam;
pub use adamw::AdamW;
pub use schedule::{
    AnnealStrategy, CosineAnnealingLr, ExponentialLr, LinearLr, OneCycleLr, Schedule, SequentialLr, StepLr,
};
pub use sgd::Sgd;

use std::collections::BTreeMap;

use crate::Module;

/// Updates a model's parameters from its gradients (a model-shaped [`Module`]).
///
/// ```
/// use nn::prelude::*;
/// let mut p = Linear::<1, 1>::zeros();
/// let mut g = Linear::<1, 1>::zeros();
/// g.bias[0] = 2.0;
/// let mut opt = Sgd::new(0.5);
/// opt.step(&mut p, &g);
/// assert_eq!(p.bias[0], -1.0);
/// opt.set_learning_rate(0.25);
/// assert_eq!(opt.learning_rate(), 0.25);
/// ```
pub trait Optimizer {
    /// One update step: `params` moves against `grads`.
    fn step<M: Module>(&mut self, params: &mut M, grads: &M);

    /// The learning rate the next [`Optimizer::step`] uses (torch's `param_groups[0]["lr"]`).
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate of the following steps; the optimizer's state is kept, as when a
    /// torch scheduler writes `param_groups[0]["lr"]`. Schedules call this (see [`Schedule::apply`]).
    fn set_learning_rate(&mut self, learning_rate: f32);

    /// Sets the momentum of the following steps, for schedules that cycle it
    /// ([`OneCycleLr`]): `momentum` of [`Sgd`], `beta1` of [`Adam`] and [`AdamW`], as torch's
    /// `cycle_momentum` does. Optimizers without a momentum ignore it (the default).
    ///
    /// ```
    /// use nn::optim::{Optimizer, Sgd};
    /// use nn::prelude::*;
    /// let mut p = Linear::<1, 1>::zeros();
    /// let mut g = Linear::<1, 1>::zeros();
    /// g.bias[0] = 1.0;
    /// let mut opt = Sgd::new(1.0); // no momentum yet
    /// opt.set_momentum(0.5);
    /// opt.step(&mut p, &g); // buf = 1
    /// opt.step(&mut p, &g); // buf = 0.5 * 1 + 1
    /// assert_eq!(p.bias[0], -2.5);
    /// ```
    fn set_momentum(&mut self, momentum: f32) {
        let _ = momentum;
    }

    /// An error if the next [`Optimizer::step`] would write non-finite values into the weights
    /// however finite the gradients: a learning rate that is NaN, infinite or negative.
    /// [`crate::Trainer::fit`] calls it before training and after each rate a schedule sets.
    ///
    /// ```
    /// use nn::optim::{Optimizer, Sgd};
    /// assert!(Sgd::new(0.01).check().is_ok());
    /// assert!(Sgd::new(f32::NAN).check().is_err());
    /// ```
    fn check(&self) -> crate::Result<()> {
        check_learning_rate(self.learning_rate())
    }

    /// Everything the optimizer keeps between steps, exactly, so that a run resumed with
    /// [`Optimizer::load_state`] continues bit for bit (what [`crate::Trainer::resume_checkpoint`]
    /// saves). The default is an error: an optimizer written outside this crate must implement
    /// both methods to be resumed.
    ///
    /// ```
    /// use nn::prelude::*;
    /// let (mut p, mut g) = (Linear::<1, 1>::zeros(), Linear::<1, 1>::zeros());
    /// g.bias[0] = 1.0;
    /// let mut opt = Sgd::new(0.1).momentum(0.9);
    /// opt.step(&mut p, &g);
    /// let state = opt.state().unwrap();
    /// assert_eq!(state.kind, "Sgd");
    /// let mut resumed = Sgd::new(0.1).momentum(0.9);
    /// resumed.load_state(&state).unwrap();
    /// let mut q = p.clone();
    /// opt.step(&mut p, &g);
    /// resumed.step(&mut q, &g);
    /// assert_eq!(p.bias[0].to_bits(), q.bias[0].to_bits());
    /// ```
    fn state(&self) -> crate::Result<OptimizerState> {
        Err(crate::Error::InvalidArgument(format!(
            "the optimizer {} cannot save its state (implement `Optimizer::state` and `Optimizer::load_state` to resume training with it)",
            std::any::type_name::<Self>()
        )))
    }

    /// Restores a state from [`Optimizer::state`]. An error (the optimizer unchanged) if the
    /// state is another optimizer's, or was written with other settings (weight decay, betas,
    /// eps, dampening, Nesterov, AMSGrad: those of the optimizer built for the resumed run must
    /// be the same); the learning rate and momentum, which a schedule moves, are restored.
    fn load_state(&mut self, state: &OptimizerState) -> crate::Result<()> {
        let _ = state;
        Err(crate::Error::InvalidArgument(format!(
            "the optimizer {} cannot load a saved state (implement `Optimizer::state` and `Optimizer::load_state` to resume training with it)",
            std::any::type_name::<Self>()
        )))
    }
}

/// An optimizer's state between steps, exactly: what [`Optimizer::state`] gives and
/// [`Optimizer::load_state`] takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptimizerState {
    /// Which optimizer wrote it (`"Sgd"`, `"Adam"`, `"AdamW"`): another one refuses it.
    pub kind: String,
    /// Scalars, exactly: an `f32` as its bits ([`f32::to_bits`]), a flag as 0 or 1, a count
    /// as itself.
    pub scalars: BTreeMap<String, u64>,
    /// Per-parameter buffers (momentum, moments), flat in [`Module::zip_params`] order; empty
    /// before the first step.
    pub buffers: BTreeMap<String, Vec<f32>>,
}

impl OptimizerState {
    /// A state of optimizer `kind`, without scalars or buffers yet.
    pub fn new(kind: &str) -> Self {
        OptimizerState {
            kind: kind.to_string(),
            ..Self::default()
        }
    }

    /// Adds an `f32` scalar, as its bits.
    pub fn with_f32(mut self, name: &str, value: f32) -> Self {
        self.scalars.insert(name.to_string(), u64::from(value.to_bits()));
        self
    }

    /// Adds an integer scalar (a count, or a flag as 0 or 1).
    pub fn with_u64(mut self, name: &str, value: u64) -> Self {
        self.scalars.insert(name.to_string(), value);
        self
    }

    /// Adds a buffer.
    pub fn with_buffer(mut self, name: &str, values: &[f32]) -> Self {
        self.buffers.insert(name.to_string(), values.to_vec());
        self
    }

    /// An error unless this is a state of optimizer `kind`.
    pub fn expect_kind(&self, kind: &str) -> crate::Result<()> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(crate::Error::InvalidArgument(format!(
                "the saved optimizer state is {:?}'s, not {kind:?}'s: resume with the optimizer the run started with",
                self.kind
            )))
        }
    }

    /// The integer scalar `name`, or an error naming it.
    pub fn u64(&self, name: &str) -> crate::Result<u64> {
        self.scalars
            .get(name)
            .copied()
            .ok_or_else(|| crate::Error::InvalidArgument(format!("the saved {} state has no `{name}`", self.kind)))
    }

    /// The `f32` scalar `name`, or an error naming it.
    pub fn f32(&self, name: &str) -> crate::Result<f32> {
        let bits = self.u64(name)?;
        u32::try_from(bits).map(f32::from_bits).map_err(|_| {
            crate::Error::InvalidArgument(format!("the saved {} state's `{name}` is not an f32", self.kind))
        })
    }

    /// An error unless the `f32` scalar `name` is `value` (a setting the resumed optimizer must share).
    pub fn expect_f32(&self, name: &str, value: f32) -> crate::Result<()> {
        let saved = self.f32(name)?;
        if saved.to_bits() == value.to_bits() {
            Ok(())
        } else {
            Err(crate::Error::InvalidArgument(format!(
                "the saved {} state has {name} {saved}, this optimizer {value}: resume with the settings the run started with",
                self.kind
            )))
        }
    }

    /// The buffer `name`, empty if there is none.
    pub fn buffer(&self, name: &str) -> &[f32] {
        self.buffers.get(name).map_or(&[], Vec::as_slice)
    }
}

/// An error unless `learning_rate` is finite and not negative (torch: `Invalid learning rate`).
pub(crate) fn check_learning_rate(learning_rate: f32) -> crate::Result<()> {
    if learning_rate.is_finite() && learning_rate >= 0.0 {
        Ok(())
    } else {
        Err(crate::Error::InvalidArgument(format!(
            "learning rate {learning_rate}: it must be a finite number, 0 or more"
        )))
    }
}

/// Converts a learning-rate-like scalar as torch does when it passes a Python float to an f32
/// kernel: computed in f64, rounded once to f32.
fn f32_of(value: f64) -> f32 {
    value as f32
}

/// The f64 of the shortest decimal that rounds to `value`: the Python float torch is given
/// when the user writes the literal that became `value` (`0.9`, not `0.899999976158...`).
///
/// Hyperparameters are f32 in the API but torch computes with them in f64 (`beta2 ** step`,
/// `gamma ** epoch`, `lr / bias_correction1`); converting through the decimal keeps those
/// computations on the numbers torch uses. Allocation-free (formats into a stack buffer).
fn decimal(value: f32) -> f64 {
    use std::fmt::Write;

    struct Buffer {
        bytes: [u8; 32],
        len: usize,
    }

    impl Write for Buffer {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            let end = self.len + text.len();
            self.bytes
                .get_mut(self.len..end)
                .ok_or(std::fmt::Error)?
                .copy_from_slice(text.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    let mut buffer = Buffer { bytes: [0; 32], len: 0 };
    // `{:e}` prints the shortest digits that round-trip to `value`, e.g. `9e-1`.
    if write!(buffer, "{value:e}").is_err() {
        return f64::from(value);
    }
    std::str::from_utf8(&buffer.bytes[..buffer.len])
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(f64::from(value))
}

/// Makes `state` hold `len` zeros if it does not already hold `len` values; returns whether it
/// was (re)allocated, i.e. whether this is the first step for this model.
/// The number of values the optimizer updates: every parameter of `params` except those of
/// frozen layers ([`Module::set_frozen`]), which `zip_params` skips. Optimizer state is sized by
/// it, so freezing or unfreezing a layer between steps starts the state afresh instead of
/// giving one tensor another's momentum.
fn trainable_len<M: Module>(params: &mut M, grads: &M) -> usize {
    let mut len = 0;
    params.zip_params(grads, &mut |p, _| len += p.len());
    len
}

fn ensure_state(state: &mut Vec<f32>, len: usize) -> bool {
    if state.len() == len {
        return false;
    }
    *state = vec![0.0; len];
    true
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_recovers_the_literal() {
        assert_eq!(decimal(0.9), 0.9);
        assert_eq!(decimal(0.999), 0.999);
        assert_eq!(decimal(1e-8), 1e-8);
        assert_eq!(decimal(0.1), 0.1);
        assert_eq!(decimal(-3.25), -3.25);
        assert_eq!(decimal(f32::MIN_POSITIVE), 1.1754944e-38);
        assert_eq!(decimal(f32::MAX) as f32, f32::MAX);
        assert_eq!(decimal(f32::INFINITY), f64::INFINITY);
        assert!(decimal(f32::NAN).is_nan());
        // Every f32 comes back to itself.
        for bits in (0..u32::MAX).step_by(9_999_991) {
            let value = f32::from_bits(bits);
            if value.is_finite() {
                assert_eq!(decimal(value) as f32, value, "{value:e}");
            }
        }
    }
}
