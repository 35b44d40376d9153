//! Learning-rate schedules, matching `torch.optim.lr_scheduler`.

use std::f64::consts::PI;

use super::{decimal, Optimizer};

/// A learning-rate schedule: the learning rate as a pure function of a step (or epoch) index.
///
/// `index` is torch's `scheduler.last_epoch`: 0 before the first `scheduler.step()` call, `n`
/// after `n` calls. The torch loop
///
/// ```text
/// for epoch in range(epochs):
///     train_one_epoch(optimizer)   # uses optimizer.param_groups[0]["lr"]
///     scheduler.step()
/// ```
///
/// is, here, `schedule.apply(&mut opt, epoch)` at the start of each epoch (or each batch, for
/// schedules meant to be stepped per batch such as [`OneCycleLr`]). Values are computed in f64,
/// as torch's Python floats are, and rounded to f32 once.
///
/// ```
/// use nn::optim::{Optimizer, Schedule, Sgd, StepLr};
/// let schedule = StepLr::new(0.1, 2).gamma(0.5);
/// let mut opt = Sgd::new(0.1).momentum(0.9);
/// let mut used = Vec::new();
/// for epoch in 0..6 {
///     schedule.apply(&mut opt, epoch);
///     used.push(opt.learning_rate());
///     // ... train one epoch with `opt` ...
/// }
/// assert_eq!(used, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
/// ```
pub trait Schedule {
    /// The learning rate at `index` (torch's `get_last_lr()[0]` after `index` scheduler steps).
    ///
    /// ```
    /// use nn::optim::{Schedule, StepLr};
    /// let lrs: Vec<f32> = (0..4).map(|epoch| StepLr::new(1.0, 2).gamma(0.5).learning_rate(epoch)).collect();
    /// assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5]);
    /// ```
    fn learning_rate(&self, index: usize) -> f32;

    /// The momentum at `index`, for schedules that also cycle the momentum (torch's
    /// `OneCycleLR(cycle_momentum=True)`); `None` (the default) leaves it alone.
    ///
    /// ```
    /// use nn::optim::{OneCycleLr, Schedule, StepLr};
    /// assert_eq!(StepLr::new(0.1, 10).momentum(0), None);
    /// assert_eq!(OneCycleLr::new(0.1, 100).momentum(0), Some(0.95));
    /// ```
    fn momentum(&self, index: usize) -> Option<f32> {
        let _ = index;
        None
    }

    /// Writes the learning rate (and momentum, if the schedule has one) of `index` into
    /// `optimizer`, keeping its state: what torch's `scheduler.step()` does to the param group.
    ///
    /// ```
    /// use nn::optim::{ExponentialLr, Optimizer, Schedule, Sgd};
    /// let mut opt = Sgd::new(1.0);
    /// ExponentialLr::new(1.0, 0.5).apply(&mut opt, 3);
    /// assert_eq!(opt.learning_rate(), 0.125);
    /// ```
    fn apply<O: Optimizer>(&self, optimizer: &mut O, index: usize)
    where
        Self: Sized,
    {
        optimizer.set_learning_rate(self.learning_rate(index));
        if let Some(momentum) = self.momentum(index) {
            optimizer.set_momentum(momentum);
        }
    }

    /// This schedule up to `milestone`, then `next` restarted from its index 0: PyTorch's
    /// `lr_scheduler.SequentialLR(optimizer, [self, next], milestones=[milestone])`, the usual
    /// way to put a warm-up before another schedule. Chains: `a.then(5, b).then(20, c)`.
    ///
    /// ```
    /// use nn::optim::{CosineAnnealingLr, LinearLr, Schedule};
    /// // 5 epochs of linear warm-up to 0.1, then cosine annealing over 20 epochs.
    /// let schedule = LinearLr::new(0.1).start_factor(0.01).total_iters(5)
    ///     .then(5, CosineAnnealingLr::new(0.1, 20));
    /// assert!((schedule.learning_rate(0) - 0.001).abs() < 1e-9);
    /// assert_eq!(schedule.learning_rate(5), 0.1); // the cosine's index 0
    /// assert!((schedule.learning_rate(15) - 0.05).abs() < 1e-9); // its index 10
    /// ```
    fn then<S: Schedule>(self, milestone: usize, next: S) -> SequentialLr<Self, S>
    where
        Self: Sized,
    {
        SequentialLr {
            first: self,
            milestone,
            next,
        }
    }
}

/// One schedule, then another from a milestone on: made by [`Schedule::then`], PyTorch's
/// `lr_scheduler.SequentialLR` with one milestone.
///
/// ```
/// use nn::optim::{ExponentialLr, Schedule, StepLr};
/// let schedule = StepLr::new(1.0, 10).then(2, ExponentialLr::new(0.5, 0.5));
/// let lrs: Vec<f32> = (0..5).map(|i| schedule.learning_rate(i)).collect();
/// assert_eq!(lrs, [1.0, 1.0, 0.5, 0.25, 0.125]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialLr<A, B> {
    first: A,
    milestone: usize,
    next: B,
}

impl<A: Schedule, B: Schedule> Schedule for SequentialLr<A, B> {
    fn learning_rate(&self, index: usize) -> f32 {
        match index.checked_sub(self.milestone) {
            Some(after) => self.next.learning_rate(after),
            None => self.first.learning_rate(index),
        }
    }

    fn momentum(&self, index: usize) -> Option<f32> {
        match index.checked_sub(self.milestone) {
            Some(after) => self.next.momentum(after),
            None => self.first.momentum(index),
        }
    }
}

/// A schedule chosen at run time (`Box<dyn Schedule>`) is a schedule.
///
/// ```
/// use nn::optim::{CosineAnnealingLr, Schedule, StepLr};
/// let cosine = true;
/// let schedule: Box<dyn Schedule> = if cosine {
///     Box::new(CosineAnnealingLr::new(0.1, 10))
/// } else {
///     Box::new(StepLr::new(0.1, 3))
/// };
/// let mut opt = nn::optim::Sgd::new(0.1);
/// schedule.apply(&mut opt, 10);
/// ```
impl<S: Schedule + ?Sized> Schedule for Box<S> {
    fn learning_rate(&self, index: usize) -> f32 {
        (**self).learning_rate(index)
    }

    fn momentum(&self, index: usize) -> Option<f32> {
        (**self).momentum(index)
    }
}

/// A reference to a schedule is a schedule.
///
/// ```
/// use nn::optim::{Schedule, StepLr};
/// fn lr_at(schedule: impl Schedule, index: usize) -> f32 {
///     schedule.learning_rate(index)
/// }
/// let schedule = StepLr::new(0.1, 3);
/// assert_eq!(lr_at(&schedule, 0), 0.1);
/// ```
impl<S: Schedule + ?Sized> Schedule for &S {
    fn learning_rate(&self, index: usize) -> f32 {
        (**self).learning_rate(index)
    }

    fn momentum(&self, index: usize) -> Option<f32> {
        (**self).momentum(index)
    }
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs, PyTorch's
/// `lr_scheduler.StepLR(optimizer, step_size, gamma=0.1)`:
/// `lr(i) = initial * gamma^(i / step_size)` (integer division).
///
/// torch computes it recursively (`lr *= gamma` at every multiple of `step_size`); the closed
/// form here agrees with it to f64 rounding. A `step_size` of 0 (an error in torch) acts as 1.
///
/// ```
/// use nn::optim::{Schedule, StepLr};
/// let schedule = StepLr::new(0.1, 30); // gamma = 0.1
/// assert_eq!(schedule.learning_rate(29), 0.1);
/// assert!((schedule.learning_rate(30) - 0.01).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLr {
    initial: f64,
    step_size: usize,
    gamma: f64,
}

impl StepLr {
    /// Starts at `initial` (the optimizer's learning rate, torch's `base_lr`) and decays every
    /// `step_size` epochs by the default `gamma = 0.1`.
    ///
    /// ```
    /// let schedule = nn::optim::StepLr::new(0.1, 30);
    /// ```
    pub fn new(initial: f32, step_size: usize) -> Self {
        StepLr {
            initial: decimal(initial),
            step_size,
            gamma: 0.1,
        }
    }

    /// Sets the decay factor (`gamma=` in torch; default 0.1).
    ///
    /// ```
    /// let schedule = nn::optim::StepLr::new(0.1, 30).gamma(0.5);
    /// ```
    pub fn gamma(mut self, gamma: f32) -> Self {
        self.gamma = decimal(gamma);
        self
    }
}

impl Schedule for StepLr {
    fn learning_rate(&self, index: usize) -> f32 {
        let decays = index / self.step_size.max(1);
        (self.initial * self.gamma.powf(decays as f64)) as f32
    }
}

/// Multiplies the learning rate by `gamma` every epoch, PyTorch's
/// `lr_scheduler.ExponentialLR(optimizer, gamma)`: `lr(i) = initial * gamma^i`.
///
/// ```
/// use nn::optim::{ExponentialLr, Schedule};
/// let schedule = ExponentialLr::new(0.1, 0.9);
/// assert!((schedule.learning_rate(2) - 0.081).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialLr {
    initial: f64,
    gamma: f64,
}

impl ExponentialLr {
    /// Starts at `initial` and multiplies by `gamma` at every index.
    ///
    /// ```
    /// let schedule = nn::optim::ExponentialLr::new(0.1, 0.95);
    /// ```
    pub fn new(initial: f32, gamma: f32) -> Self {
        ExponentialLr {
            initial: decimal(initial),
            gamma: decimal(gamma),
        }
    }
}

impl Schedule for ExponentialLr {
    fn learning_rate(&self, index: usize) -> f32 {
        (self.initial * self.gamma.powf(index as f64)) as f32
    }
}

/// Cosine annealing from `initial` down to `eta_min` over `t_max` epochs, PyTorch's
/// `lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min=0)`:
/// `lr(i) = eta_min + (initial - eta_min) * (1 + cos(pi * i / t_max)) / 2`.
///
/// Past `t_max` the cosine goes on (back up to `initial` at `2 * t_max`), as torch's does;
/// torch computes it recursively and the closed form here agrees with it to f64 rounding.
/// A `t_max` of 0 (an error in torch) acts as 1.
///
/// ```
/// use nn::optim::{CosineAnnealingLr, Schedule};
/// let schedule = CosineAnnealingLr::new(0.1, 10).eta_min(0.001);
/// assert_eq!(schedule.learning_rate(0), 0.1);
/// assert!((schedule.learning_rate(5) - 0.0505).abs() < 1e-9);
/// assert!((schedule.learning_rate(10) - 0.001).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineAnnealingLr {
    initial: f64,
    t_max: usize,
    eta_min: f64,
}

impl CosineAnnealingLr {
    /// Anneals from `initial` to 0 over `t_max` epochs (`T_max` in torch).
    ///
    /// ```
    /// let schedule = nn::optim::CosineAnnealingLr::new(0.1, 100);
    /// ```
    pub fn new(initial: f32, t_max: usize) -> Self {
        CosineAnnealingLr {
            initial: decimal(initial),
            t_max,
            eta_min: 0.0,
        }
    }

    /// Sets the learning rate reached at `t_max` (`eta_min=` in torch; default 0).
    ///
    /// ```
    /// let schedule = nn::optim::CosineAnnealingLr::new(0.1, 100).eta_min(1e-4);
    /// ```
    pub fn eta_min(mut self, eta_min: f32) -> Self {
        self.eta_min = decimal(eta_min);
        self
    }
}

impl Schedule for CosineAnnealingLr {
    fn learning_rate(&self, index: usize) -> f32 {
        let t_max = self.t_max.max(1) as f64;
        let cosine = 1.0 + (PI * index as f64 / t_max).cos();
        (self.eta_min + (self.initial - self.eta_min) * cosine / 2.0) as f32
    }
}

/// Scales the learning rate by a factor going linearly from `start_factor` to `end_factor`
/// over `total_iters` steps, then constant: PyTorch's
/// `lr_scheduler.LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)`, the
/// usual linear warm-up.
///
/// `lr(i) = initial * (start + (end - start) * min(i, total_iters) / total_iters)`. torch
/// computes it recursively; the closed form here agrees with it to f64 rounding. With
/// `total_iters` 0 the factor is `end_factor` from the start.
///
/// ```
/// use nn::optim::{LinearLr, Schedule};
/// // Warm up from 0.01 to 0.1 over 10 steps.
/// let warmup = LinearLr::new(0.1).start_factor(0.1).total_iters(10);
/// assert!((warmup.learning_rate(0) - 0.01).abs() < 1e-9);
/// assert!((warmup.learning_rate(5) - 0.055).abs() < 1e-9);
/// assert_eq!(warmup.learning_rate(10), 0.1);
/// assert_eq!(warmup.learning_rate(1000), 0.1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearLr {
    initial: f64,
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
}

impl LinearLr {
    /// Scales `initial` with torch's defaults: factor `1/3` rising to `1` over 5 steps.
    ///
    /// ```
    /// use nn::optim::{LinearLr, Schedule};
    /// assert!((LinearLr::new(0.3).learning_rate(0) - 0.1).abs() < 1e-9);
    /// ```
    pub fn new(initial: f32) -> Self {
        LinearLr {
            initial: decimal(initial),
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        }
    }

    /// Sets the factor at index 0 (`start_factor=` in torch; default 1/3).
    ///
    /// ```
    /// let warmup = nn::optim::LinearLr::new(0.1).start_factor(0.01);
    /// ```
    pub fn start_factor(mut self, start_factor: f32) -> Self {
        self.start_factor = decimal(start_factor);
        self
    }

    /// Sets the factor from `total_iters` on (`end_factor=` in torch; default 1).
    ///
    /// ```
    /// let decay = nn::optim::LinearLr::new(0.1).start_factor(1.0).end_factor(0.1);
    /// ```
    pub fn end_factor(mut self, end_factor: f32) -> Self {
        self.end_factor = decimal(end_factor);
        self
    }

    /// Sets the number of steps the factor takes to reach `end_factor` (`total_iters=` in
    /// torch; default 5).
    ///
    /// ```
    /// let warmup = nn::optim::LinearLr::new(0.1).total_iters(500);
    /// ```
    pub fn total_iters(mut self, total_iters: usize) -> Self {
        self.total_iters = total_iters;
        self
    }
}

impl Schedule for LinearLr {
    fn learning_rate(&self, index: usize) -> f32 {
        let factor = if self.total_iters == 0 {
            self.end_factor
        } else {
            let progress = index.min(self.total_iters) as f64 / self.total_iters as f64;
            self.start_factor + (self.end_factor - self.start_factor) * progress
        };
        (self.initial * factor) as f32
    }
}

/// How [`OneCycleLr`] moves between two values (`anneal_strategy=` in torch).
///
/// ```
/// use nn::optim::{AnnealStrategy, OneCycleLr, Schedule};
/// let linear = OneCycleLr::new(1.0, 11).pct_start(0.5).anneal_strategy(AnnealStrategy::Linear);
/// // Rising from 1/25 to 1 over steps 0..=4.5: a straight line.
/// let (a, b, c) = (linear.learning_rate(0), linear.learning_rate(1), linear.learning_rate(2));
/// assert!(((b - a) - (c - b)).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnealStrategy {
    /// `end + (start - end) / 2 * (1 + cos(pi * pct))` (torch's `"cos"`, the default).
    #[default]
    Cos,
    /// `start + (end - start) * pct` (torch's `"linear"`).
    Linear,
}

impl AnnealStrategy {
    /// The value at fraction `pct` of the way from `start` to `end`, as torch computes it.
    fn anneal(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            AnnealStrategy::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            AnnealStrategy::Linear => (end - start) * pct + start,
        }
    }
}

/// The 1cycle policy, PyTorch's `lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps)`
/// with its defaults `pct_start=0.3`, `anneal_strategy="cos"`, `div_factor=25`,
/// `final_div_factor=1e4`, `three_phase=False`, `cycle_momentum=True`,
/// `base_momentum=0.85`, `max_momentum=0.95`. Stepped once per batch.
///
/// The learning rate rises from `max_lr / div_factor` to `max_lr` over the first
/// `pct_start * total_steps - 1` steps, then falls to `max_lr / div_factor / final_div_factor`
/// at step `total_steps - 1`. The momentum ([`Schedule::momentum`]) moves the opposite way,
/// from `max_momentum` to `base_momentum` and back; [`Schedule::apply`] sets it as the
/// optimizer's momentum (`beta1` for Adam), as torch does unless `cycle_momentum(false)`.
///
/// torch raises an error past `total_steps`; here indices past it keep the value of
/// `total_steps`.
///
/// ```
/// use nn::optim::{OneCycleLr, Schedule};
/// let schedule = OneCycleLr::new(0.1, 100);
/// assert!((schedule.learning_rate(0) - 0.004).abs() < 1e-9); // 0.1 / 25
/// assert!((schedule.learning_rate(29) - 0.1).abs() < 1e-9); // the peak, at 0.3 * 100 - 1
/// assert!((schedule.learning_rate(99) - 4e-7).abs() < 1e-12); // 0.1 / 25 / 1e4
/// assert_eq!(schedule.momentum(29), Some(0.85));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneCycleLr {
    max_lr: f64,
    total_steps: usize,
    pct_start: f64,
    anneal_strategy: AnnealStrategy,
    div_factor: f64,
    final_div_factor: f64,
    three_phase: bool,
    cycle_momentum: bool,
    base_momentum: f64,
    max_momentum: f64,
}

/// One phase of [`OneCycleLr`]: from `start` to `end` (learning rates and momenta) over the
/// steps up to `end_step`, as torch's `_schedule_phases`.
struct Phase {
    end_step: f64,
    lr: (f64, f64),
    momentum: (f64, f64),
}

impl OneCycleLr {
    /// Peaks at `max_lr`, over `total_steps` steps (torch's `total_steps`, or
    /// `epochs * steps_per_epoch`), with torch's defaults.
    ///
    /// ```
    /// let schedule = nn::optim::OneCycleLr::new(0.1, 10 * 938);
    /// ```
    pub fn new(max_lr: f32, total_steps: usize) -> Self {
        OneCycleLr {
            max_lr: decimal(max_lr),
            total_steps,
            pct_start: 0.3,
            anneal_strategy: AnnealStrategy::Cos,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
        }
    }

    /// Sets the fraction of the steps spent rising (`pct_start=` in torch; default 0.3).
    ///
    /// ```
    /// let schedule = nn::optim::OneCycleLr::new(0.1, 1000).pct_start(0.25);
    /// ```
    pub fn pct_start(mut self, pct_start: f32) -> Self {
        self.pct_start = decimal(pct_start);
        self
    }

    /// Sets the shape of each phase (`anneal_strategy=` in torch; default cosine).
    ///
    /// ```
    /// use nn::optim::{AnnealStrategy, OneCycleLr};
    /// let schedule = OneCycleLr::new(0.1, 1000).anneal_strategy(AnnealStrategy::Linear);
    /// ```
    pub fn anneal_strategy(mut self, anneal_strategy: AnnealStrategy) -> Self {
        self.anneal_strategy = anneal_strategy;
        self
    }

    /// Sets the starting learning rate to `max_lr / div_factor` (`div_factor=` in torch;
    /// default 25).
    ///
    /// ```
    /// let schedule = nn::optim::OneCycleLr::new(0.1, 1000).div_factor(10.0);
    /// ```
    pub fn div_factor(mut self, div_factor: f32) -> Self {
        self.div_factor = decimal(div_factor);
        self
    }

    /// Sets the final learning rate to `max_lr / div_factor / final_div_factor`
    /// (`final_div_factor=` in torch; default 1e4).
    ///
    /// ```
    /// let schedule = nn::optim::OneCycleLr::new(0.1, 1000).final_div_factor(100.0);
    /// ```
    pub fn final_div_factor(mut self, final_div_factor: f32) -> Self {
        self.final_div_factor = decimal(final_div_factor);
        self
    }

    /// Uses three phases (`three_phase=True` in torch): up to `max_lr`, back down to the
    /// starting rate symmetrically, then down to the final rate.
    ///
    /// ```
    /// let schedule = nn::optim::OneCycleLr::new(0.1, 1000).three_phase(true);
    /// ```
    pub fn three_phase(mut self, three_phase: bool) -> Self {
        self.three_phase = three_phase;
        self
    }

    /// Whether [`Schedule::apply`] also cycles the optimizer's momentum (`cycle_momentum=` in
    /// torch; default true).
    ///
    /// ```
    /// use nn::optim::{OneCycleLr, Schedule};
    /// let schedule = OneCycleLr::new(0.1, 1000).cycle_momentum(false);
    /// assert_eq!(schedule.momentum(0), None);
    /// ```
    pub fn cycle_momentum(mut self, cycle_momentum: bool) -> Self {
        self.cycle_momentum = cycle_momentum;
        self
    }

    /// Sets the momentum at the peak learning rate (`base_momentum=` in torch; default 0.85).
    ///
    /// ```
    /// let schedule = nn::optim::OneCycleLr::new(0.1, 1000).base_momentum(0.8);
    /// ```
    pub fn base_momentum(mut self, base_momentum: f32) -> Self {
        self.base_momentum = decimal(base_momentum);
        self
    }

    /// Sets the momentum at the start and end of the cycle (`max_momentum=` in torch; default
    /// 0.95).
    ///
    /// ```
    /// let schedule = nn::optim::OneCycleLr::new(0.1, 1000).max_momentum(0.9);
    /// ```
    pub fn max_momentum(mut self, max_momentum: f32) -> Self {
        self.max_momentum = decimal(max_momentum);
        self
    }

    /// torch's `_schedule_phases`, with the learning rates it stores in the param group.
    fn phases(&self) -> ([Phase; 3], usize) {
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let (max_lr, base_m, max_m) = (self.max_lr, self.base_momentum, self.max_momentum);
        let total = self.total_steps as f64;
        if self.three_phase {
            let phases = [
                Phase {
                    end_step: self.pct_start * total - 1.0,
                    lr: (initial, max_lr),
                    momentum: (max_m, base_m),
                },
                Phase {
                    end_step: 2.0 * self.pct_start * total - 2.0,
                    lr: (max_lr, initial),
                    momentum: (base_m, max_m),
                },
                Phase {
                    end_step: total - 1.0,
                    lr: (initial, min),
                    momentum: (max_m, max_m),
                },
            ];
            (phases, 3)
        } else {
            let phases = [
                Phase {
                    end_step: self.pct_start * total - 1.0,
                    lr: (initial, max_lr),
                    momentum: (max_m, base_m),
                },
                Phase {
                    end_step: total - 1.0,
                    lr: (max_lr, min),
                    momentum: (base_m, max_m),
                },
                // Unused.
                Phase {
                    end_step: total - 1.0,
                    lr: (min, min),
                    momentum: (max_m, max_m),
                },
            ];
            (phases, 2)
        }
    }

    /// `(learning rate, momentum)` at `index`, as torch's `OneCycleLR.get_lr`.
    fn at(&self, index: usize) -> (f64, f64) {
        let step = index.min(self.total_steps) as f64;
        let (phases, count) = self.phases();
        // The first phase whose end is at or after `step`; the last one catches the rest.
        let mut start_step = 0.0;
        let mut phase = &phases[0];
        for (i, candidate) in phases[..count].iter().enumerate() {
            phase = candidate;
            if step <= candidate.end_step || i == count - 1 {
                break;
            }
            start_step = candidate.end_step;
        }
        let span = phase.end_step - start_step;
        // torch divides by zero here (a phase of no steps); take the phase's end value.
        let pct = if span == 0.0 { 1.0 } else { (step - start_step) / span };
        let anneal = |(start, end): (f64, f64)| self.anneal_strategy.anneal(start, end, pct);
        (anneal(phase.lr), anneal(phase.momentum))
    }
}

impl Schedule for OneCycleLr {
    fn learning_rate(&self, index: usize) -> f32 {
        self.at(index).0 as f32
    }

    fn momentum(&self, index: usize) -> Option<f32> {
        self.cycle_momentum.then(|| self.at(index).1 as f32)
    }
}
