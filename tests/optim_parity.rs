//! Optimizers and learning-rate schedules identical to PyTorch's, against
//! `tests/fixtures/optim.safetensors` written by `tools/make_fixtures.py` (PyTorch 2.15, CPU,
//! single-tensor optimizer path). Each case names the PyTorch call that produced its numbers.
//!
//! Optimizers: twelve steps from the same initial weights of
//! `nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))`. Each step is fed the gradient
//! PyTorch computed at that step, so the comparison isolates the update rule; the parameters
//! after every step must match PyTorch's within [`PARAM_TOLERANCE`] (max-norm relative, per
//! tensor). Schedules: every learning rate (and momentum) of a sequence must match within
//! [`LR_TOLERANCE`], relative to each value.
//!
//! Run with `cargo test --test optim_parity -- --nocapture` to see the largest difference of
//! each case.

mod common;

use common::Fixture;
use nn::optim::{
    Adam, AdamW, AnnealStrategy, CosineAnnealingLr, ExponentialLr, LinearLr, OneCycleLr, Optimizer, Schedule, Sgd,
    StepLr,
};
use nn::prelude::*;

network! {
    /// `nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))`
    struct Net: [6] => Linear<6, 5> -> Tanh -> Linear<5, 3>
}

/// `STEPS` in `tools/make_fixtures.py`.
const STEPS: usize = 12;

/// Parameters after each step, max-norm relative: `max |ours - torch| <= tol * max |torch|`
/// for every tensor. Twelve steps of f32 arithmetic in a different order than ATen's
/// vectorised kernels (fused multiply-adds) differ by a few units in the last place.
const PARAM_TOLERANCE: f32 = 1e-6;

/// Learning rates and momenta, relative to each value.
const LR_TOLERANCE: f64 = 1e-6;

/// Writes row `row` of every stacked fixture tensor `<prefix><key>` (`[rows, ...]`) into the
/// matching parameter of `module`.
fn load_row(fixture: &Fixture, module: &mut Net, prefix: &str, row: usize) {
    module.visit_params_mut("", &mut |key, _, values| {
        let stacked = fixture.values(&format!("{prefix}{key}"));
        values.copy_from_slice(&stacked[row * values.len()..][..values.len()]);
    });
}

/// The largest max-norm relative difference between `module`'s tensors and row `row` of the
/// stacked fixture tensors `<prefix><key>`.
fn difference(fixture: &Fixture, module: &Net, prefix: &str, row: usize) -> f32 {
    let mut worst = 0.0f32;
    module.visit_params("", &mut |key, _, values| {
        let stacked = fixture.values(&format!("{prefix}{key}"));
        let expected = &stacked[row * values.len()..][..values.len()];
        let scale = expected.iter().fold(0.0f32, |m, e| m.max(e.abs()));
        let error = values
            .iter()
            .zip(expected)
            .fold(0.0f32, |m, (a, e)| m.max((a - e).abs()));
        worst = worst.max(error / scale);
    });
    worst
}

/// `|actual - expected| / |expected|` (0 when both are 0).
fn relative(actual: f32, expected: f32) -> f64 {
    let (a, e) = (f64::from(actual), f64::from(expected));
    if a == e {
        0.0
    } else {
        (a - e).abs() / e.abs()
    }
}

/// Case `name` without a schedule: see [`replay`].
fn replay_plain<O: Optimizer>(name: &str, opt: O) -> f32 {
    replay::<O, StepLr>(name, opt, None)
}

/// Replays the twelve steps of case `name` with `opt` (and `schedule` applied before each
/// step, as torch's `scheduler.step()` after each), checking the learning rate used and the
/// parameters after every step. Returns the largest parameter difference.
fn replay<O: Optimizer, S: Schedule>(name: &str, mut opt: O, schedule: Option<&S>) -> f32 {
    let fixture = Fixture::open("optim.safetensors");
    let mut net = Net::zeros();
    load_row(&fixture, &mut net, &format!("{name}.params."), 0);
    let mut grads = Net::zeros();
    let lrs = fixture.values(&format!("{name}.lr"));
    let mut worst = 0.0f32;
    assert_eq!(lrs.len(), STEPS, "{name}.lr");
    for (step, &torch_lr) in lrs.iter().enumerate() {
        if let Some(schedule) = schedule {
            schedule.apply(&mut opt, step);
        }
        // <name>.lr[step] = optimizer.param_groups[0]["lr"] used by step `step + 1`
        let lr_error = relative(opt.learning_rate(), torch_lr);
        assert!(
            lr_error <= LR_TOLERANCE,
            "{name}: step {}: lr {} but torch used {}",
            step + 1,
            opt.learning_rate(),
            torch_lr
        );
        load_row(&fixture, &mut grads, &format!("{name}.grads."), step);
        opt.step(&mut net, &grads);
        // <name>.params[step + 1] = model.state_dict() after step `step + 1`
        let error = difference(&fixture, &net, &format!("{name}.params."), step + 1);
        assert!(
            error <= PARAM_TOLERANCE,
            "{name}: after step {}: parameters differ from torch's by {error:e} (max-norm relative) > {PARAM_TOLERANCE:e}",
            step + 1
        );
        worst = worst.max(error);
    }
    // The check is able to fail: the parameters moved, by far more than the tolerance.
    let moved = difference(&fixture, &net, &format!("{name}.params."), 0);
    assert!(
        moved > 1e3 * PARAM_TOLERANCE,
        "{name}: parameters barely moved ({moved:e})"
    );
    println!("{name:<28} largest difference from torch over {STEPS} steps: {worst:.2e} (max-norm relative)");
    worst
}

#[test]
fn sgd_plain() {
    // torch.optim.SGD(params, lr=0.1)
    replay_plain("sgd", Sgd::new(0.1));
}

#[test]
fn sgd_weight_decay() {
    // torch.optim.SGD(params, lr=0.1, weight_decay=0.05)
    replay_plain("sgd_weight_decay", Sgd::new(0.1).weight_decay(0.05));
}

#[test]
fn sgd_momentum() {
    // torch.optim.SGD(params, lr=0.1, momentum=0.9)
    replay_plain("sgd_momentum", Sgd::new(0.1).momentum(0.9));
}

#[test]
fn sgd_momentum_dampening_and_weight_decay() {
    // torch.optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)
    let opt = Sgd::new(0.1).momentum(0.9).dampening(0.3).weight_decay(0.01);
    replay_plain("sgd_dampening", opt);
}

#[test]
fn sgd_nesterov() {
    // torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    replay_plain("sgd_nesterov", Sgd::new(0.1).momentum(0.9).nesterov(true));
}

#[test]
fn sgd_nesterov_weight_decay() {
    // torch.optim.SGD(params, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)
    let opt = Sgd::new(0.05).momentum(0.8).nesterov(true).weight_decay(0.1);
    replay_plain("sgd_nesterov_weight_decay", opt);
}

#[test]
fn adam_defaults() {
    // torch.optim.Adam(params, lr=0.01)
    let opt = Adam::new(0.01);
    assert_eq!(opt.steps(), 0);
    replay_plain("adam", opt);
}

#[test]
fn adam_betas_eps_and_l2_weight_decay() {
    // torch.optim.Adam(params, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    let opt = Adam::new(0.02).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1);
    replay_plain("adam_options", opt);
}

#[test]
fn adamw_weight_decay() {
    // torch.optim.AdamW(params, lr=0.01, weight_decay=0.1)
    replay_plain("adamw", AdamW::new(0.01).weight_decay(0.1));
}

#[test]
fn adamw_defaults() {
    // torch.optim.AdamW(params)   (lr=1e-3, weight_decay=1e-2)
    replay_plain("adamw_default", AdamW::new(1e-3));
}

#[test]
fn adam_amsgrad() {
    // torch.optim.Adam(params, lr=0.05, betas=(0.5, 0.9), amsgrad=True)
    replay_plain("adam_amsgrad", Adam::new(0.05).betas(0.5, 0.9).amsgrad(true));
}

#[test]
fn adamw_amsgrad() {
    // torch.optim.AdamW(params, lr=0.01, weight_decay=0.1, amsgrad=True)
    replay_plain("adamw_amsgrad", AdamW::new(0.01).weight_decay(0.1).amsgrad(true));
}

#[test]
fn sgd_momentum_with_step_lr() {
    // torch.optim.SGD(params, lr=0.1, momentum=0.9); StepLR(opt, step_size=4, gamma=0.5)
    let schedule = StepLr::new(0.1, 4).gamma(0.5);
    replay("sgd_step_lr", Sgd::new(0.1).momentum(0.9), Some(&schedule));
}

#[test]
fn sgd_nesterov_with_linear_warmup() {
    // torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True);
    // LinearLR(opt, start_factor=0.1, total_iters=5)
    let schedule = LinearLr::new(0.1).start_factor(0.1).total_iters(5);
    replay(
        "sgd_warmup",
        Sgd::new(0.1).momentum(0.9).nesterov(true),
        Some(&schedule),
    );
}

#[test]
fn adamw_with_cosine_annealing() {
    // torch.optim.AdamW(params, lr=0.01, weight_decay=0.05); CosineAnnealingLR(opt, T_max=12, eta_min=1e-4)
    let schedule = CosineAnnealingLr::new(0.01, STEPS).eta_min(1e-4);
    replay("adamw_cosine", AdamW::new(0.01).weight_decay(0.05), Some(&schedule));
}

#[test]
fn adam_with_one_cycle_cycling_beta1() {
    // torch.optim.Adam(params, lr=0.01); OneCycleLR(opt, max_lr=0.05, total_steps=12)
    // (cycle_momentum=True: beta1 goes 0.95 -> 0.85 -> 0.95)
    let schedule = OneCycleLr::new(0.05, STEPS);
    replay("adam_one_cycle", Adam::new(0.01), Some(&schedule));
}

#[test]
fn sgd_with_one_cycle_cycling_momentum() {
    // torch.optim.SGD(params, lr=0.1); OneCycleLR(opt, max_lr=0.2, total_steps=12)
    // (cycle_momentum=True: momentum goes 0.95 -> 0.85 -> 0.95 though SGD was built without)
    let schedule = OneCycleLr::new(0.2, STEPS);
    replay("sgd_one_cycle", Sgd::new(0.1), Some(&schedule));
}

/// Compares `schedule` with torch's sequence `schedule.<name>.lr` (and `.momentum` when the
/// fixture has it); returns the largest relative difference.
fn check_schedule(name: &str, schedule: &dyn Schedule, with_momentum: bool) -> f64 {
    let fixture = Fixture::open("optim.safetensors");
    // schedule.<name>.lr[i] = optimizer.param_groups[0]["lr"] after i scheduler.step() calls
    let expected = fixture.values(&format!("schedule.{name}.lr"));
    let mut worst = 0.0f64;
    for (i, &lr) in expected.iter().enumerate() {
        let ours = schedule.learning_rate(i);
        let error = relative(ours, lr);
        assert!(
            error <= LR_TOLERANCE,
            "{name}: index {i}: lr {ours} but torch gives {lr} (relative difference {error:e})"
        );
        worst = worst.max(error);
    }
    if with_momentum {
        // schedule.<name>.momentum[i] = optimizer.param_groups[0]["momentum"], likewise
        let expected = fixture.values(&format!("schedule.{name}.momentum"));
        for (i, &momentum) in expected.iter().enumerate() {
            let ours = schedule.momentum(i).expect("the schedule cycles the momentum");
            let error = relative(ours, momentum);
            assert!(
                error <= LR_TOLERANCE,
                "{name}: index {i}: momentum {ours} but torch gives {momentum}"
            );
            worst = worst.max(error);
        }
    } else {
        assert_eq!(schedule.momentum(0), None, "{name}");
    }
    // The sequence is not constant, so a wrong schedule cannot pass by accident.
    assert!(
        expected.iter().any(|&lr| lr != expected[0]),
        "{name}: constant sequence"
    );
    println!(
        "{name:<28} {:>3} values, largest relative difference from torch: {worst:.2e}",
        expected.len()
    );
    worst
}

#[test]
fn step_lr_matches_torch() {
    // SGD(lr=0.1); StepLR(opt, step_size=3, gamma=0.5)
    check_schedule("step_lr", &StepLr::new(0.1, 3).gamma(0.5), false);
    // SGD(lr=0.05); StepLR(opt, step_size=4)   (gamma=0.1)
    check_schedule("step_lr_default", &StepLr::new(0.05, 4), false);
}

#[test]
fn exponential_lr_matches_torch() {
    // SGD(lr=0.1); ExponentialLR(opt, gamma=0.9)
    check_schedule("exponential_lr", &ExponentialLr::new(0.1, 0.9), false);
}

#[test]
fn cosine_annealing_lr_matches_torch() {
    // SGD(lr=0.1); CosineAnnealingLR(opt, T_max=10, eta_min=1e-3)   (31 values: past T_max)
    check_schedule(
        "cosine_annealing_lr",
        &CosineAnnealingLr::new(0.1, 10).eta_min(1e-3),
        false,
    );
    // SGD(lr=0.05); CosineAnnealingLR(opt, T_max=50)
    check_schedule("cosine_annealing_lr_default", &CosineAnnealingLr::new(0.05, 50), false);
}

#[test]
fn linear_lr_matches_torch() {
    // SGD(lr=0.1); LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=5)
    let warmup = LinearLr::new(0.1).start_factor(0.1).end_factor(1.0).total_iters(5);
    check_schedule("linear_lr", &warmup, false);
    // SGD(lr=0.3); LinearLR(opt)   (start_factor=1/3, end_factor=1.0, total_iters=5)
    check_schedule("linear_lr_default", &LinearLr::new(0.3), false);
    // SGD(lr=0.1); LinearLR(opt, start_factor=1.0, end_factor=0.05, total_iters=20)
    let decay = LinearLr::new(0.1).start_factor(1.0).end_factor(0.05).total_iters(20);
    check_schedule("linear_lr_decay", &decay, false);
}

#[test]
fn one_cycle_lr_matches_torch() {
    // SGD(lr=0.1); OneCycleLR(opt, max_lr=0.1, total_steps=100)   (last_epoch 0..=100)
    check_schedule("one_cycle_lr", &OneCycleLr::new(0.1, 100), true);
    // SGD(lr=0.1); OneCycleLR(opt, max_lr=0.01, total_steps=50, three_phase=True)
    check_schedule(
        "one_cycle_lr_three_phase",
        &OneCycleLr::new(0.01, 50).three_phase(true),
        true,
    );
    // SGD(lr=0.1); OneCycleLR(opt, max_lr=1.0, total_steps=37, pct_start=0.25,
    //     anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0,
    //     base_momentum=0.8, max_momentum=0.9)
    let linear = OneCycleLr::new(1.0, 37)
        .pct_start(0.25)
        .anneal_strategy(AnnealStrategy::Linear)
        .div_factor(10.0)
        .final_div_factor(100.0)
        .base_momentum(0.8)
        .max_momentum(0.9);
    check_schedule("one_cycle_lr_linear", &linear, true);
}

#[test]
fn sequential_lr_matches_torch() {
    // SGD(lr=0.1); SequentialLR(opt, [LinearLR(opt, start_factor=0.01, total_iters=5),
    //     CosineAnnealingLR(opt, T_max=20, eta_min=1e-4)], milestones=[5])
    let warmup_cosine = LinearLr::new(0.1)
        .start_factor(0.01)
        .total_iters(5)
        .then(5, CosineAnnealingLr::new(0.1, 20).eta_min(1e-4));
    check_schedule("warmup_cosine", &warmup_cosine, false);
    // SGD(lr=0.1); SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=3),
    //     StepLR(opt, step_size=4, gamma=0.5), ExponentialLR(opt, gamma=0.8)], milestones=[3, 12])
    let three = LinearLr::new(0.1)
        .start_factor(0.1)
        .total_iters(3)
        .then(3, StepLr::new(0.1, 4).gamma(0.5))
        .then(12, ExponentialLr::new(0.1, 0.8));
    check_schedule("sequential_three", &three, false);
}

#[test]
fn one_cycle_lr_holds_its_last_value_past_total_steps() {
    // torch raises past total_steps; we keep the value of index total_steps.
    let schedule = OneCycleLr::new(0.1, 100);
    assert_eq!(schedule.learning_rate(101), schedule.learning_rate(100));
    assert_eq!(schedule.learning_rate(10_000), schedule.learning_rate(100));
    assert!(schedule.learning_rate(10_000).is_finite());
}
