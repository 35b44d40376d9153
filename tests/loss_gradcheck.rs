//! Finite-difference gradient checks of `BceWithLogits` and label-smoothed `CrossEntropy`,
//! by the method of `tests/gradcheck.rs`:
//!
//! - the analytic gradient is the library's `loss_and_grad` in f32;
//! - the expected value is the central difference `(L(x + h) - L(x - h)) / 2h` of an f64
//!   reimplementation of the mean loss written in this file, at the library's own f32 inputs
//!   converted to f64, with `h = 1e-6`;
//! - the tolerance is `|analytic - numeric| <= 1e-4 * max(|numeric|, min(1, M))`, `M` the
//!   largest `|numeric|` of the check, and every check also asserts that it can fail (the finite
//!   differences are not negligible; the negated, doubled or un-averaged gradient is rejected).
//!
//! The step, the tolerance with its reasons and the comparison [`check`] are shared with
//! `tests/gradcheck.rs` in `tests/common/gradcheck.rs`.
//!
//! Run with `cargo test --test loss_gradcheck -- --nocapture` to see the worst error of each.

mod common;

use common::gradcheck::{all, check, check_forward, flat64, numeric_grad, passes, random_batch};
use nn::loss::{BceWithLogits, CrossEntropy, Loss};
use nn::{Rng, Tensor};

/// [`check`] of the gradient of a mean loss over `batch` samples, which also asserts that the
/// gradient of the summed loss (`batch` times larger) would have been rejected.
fn check_mean(what: &str, analytic: &[f64], numeric: &[f64], batch: usize) -> f64 {
    let worst = check(what, analytic, numeric);
    if batch > 1 {
        let summed: Vec<f64> = analytic.iter().map(|a| a * batch as f64).collect();
        assert!(
            !passes(&summed, numeric),
            "{what}: a gradient of the summed loss passes"
        );
    }
    worst
}

// ---------------------------------------------------------------------------------------------
// f64 references
// ---------------------------------------------------------------------------------------------

/// `mean(max(x, 0) - x y + ln(1 + exp(-|x|)))` over every element.
fn bce_with_logits64(logits: &[f64], targets: &[f64]) -> f64 {
    assert_eq!(logits.len(), targets.len());
    let total: f64 = logits
        .iter()
        .zip(targets)
        .map(|(&x, &y)| x.max(0.0) - x * y + (-x.abs()).exp().ln_1p())
        .sum();
    total / logits.len() as f64
}

/// Cross-entropy of one sample against the smoothed target `(1 - eps) onehot + eps / C`:
/// `sum_j -t_j log_softmax(x)_j`.
fn smoothed_cross_entropy64(logits: &[f64], label: usize, eps: f64) -> f64 {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = logits.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
    let classes = logits.len() as f64;
    logits
        .iter()
        .enumerate()
        .map(|(j, &x)| {
            let target = eps / classes + if j == label { 1.0 - eps } else { 0.0 };
            -target * (x - max - log_sum)
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

fn check_bce<O: Tensor>(name: &str, seed: u64, batch: usize, range: f32, hard_targets: bool) -> f64 {
    let mut rng = Rng::seed(seed);
    let logits: Vec<O> = random_batch(&mut rng, batch, -range, range);
    let mut targets: Vec<O> = random_batch(&mut rng, batch, 0.0, 1.0);
    if hard_targets {
        O::flat_batch_mut(&mut targets).iter_mut().for_each(|t| *t = t.round());
    }
    let mut grad = vec![O::zeros(); batch];
    O::flat_batch_mut(&mut grad).fill(f32::NAN); // must be overwritten
    let value = BceWithLogits.loss_and_grad(&logits, &targets, &mut grad);

    let (x, t) = (flat64(&logits), flat64(&targets));
    check_forward(
        &format!("{name} loss_and_grad value"),
        &[value],
        &[bce_with_logits64(&x, &t)],
    );
    check_forward(
        &format!("{name} loss value"),
        &[BceWithLogits.loss(&logits, &targets)],
        &[bce_with_logits64(&x, &t)],
    );
    // Expected values: central differences of the f64 mean loss.
    let numeric = numeric_grad(&x, &all(x.len()), |x| bce_with_logits64(x, &t));
    check_mean(name, &flat64(&grad), &numeric, batch)
}

#[test]
fn bce_with_logits_gradient_of_the_mean_loss() {
    let worst = [
        check_bce::<[f32; 1]>("BceWithLogits [1] batch 1", 1, 1, 3.0, false),
        check_bce::<[f32; 1]>("BceWithLogits [1] batch 16, hard targets", 2, 16, 4.0, true),
        check_bce::<[f32; 7]>("BceWithLogits [7] batch 5", 3, 5, 5.0, false),
        check_bce::<[[f32; 3]; 2]>("BceWithLogits [2, 3] batch 3", 4, 3, 2.0, false),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("bce_with_logits: worst scaled error {worst:.3e}");
}

fn check_smoothed_cross_entropy<const N: usize>(name: &str, seed: u64, batch: usize, eps: f32) -> f64 {
    let mut rng = Rng::seed(seed);
    let logits: Vec<[f32; N]> = random_batch(&mut rng, batch, -4.0, 4.0);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(N)).collect();
    let loss = CrossEntropy::with_label_smoothing(eps);
    let mut grad = vec![[f32::NAN; N]; batch]; // must be overwritten
    let value = loss.loss_and_grad(&logits, &labels, &mut grad);

    let x = flat64(&logits);
    let mean_loss = |x: &[f64]| -> f64 {
        let total: f64 = x
            .chunks_exact(N)
            .zip(&labels)
            .map(|(logits, &label)| smoothed_cross_entropy64(logits, label, f64::from(eps)))
            .sum();
        total / batch as f64
    };
    check_forward(&format!("{name} loss_and_grad value"), &[value], &[mean_loss(&x)]);
    check_forward(
        &format!("{name} loss value"),
        &[loss.loss(&logits, &labels)],
        &[mean_loss(&x)],
    );
    // Expected values: central differences of the f64 mean loss.
    let numeric = numeric_grad(&x, &all(x.len()), mean_loss);
    check_mean(name, &flat64(&grad), &numeric, batch)
}

#[test]
fn smoothed_cross_entropy_gradient_of_the_mean_loss() {
    let worst = [
        check_smoothed_cross_entropy::<2>("CrossEntropy smoothing 0.1 [2] batch 1", 5, 1, 0.1),
        check_smoothed_cross_entropy::<10>("CrossEntropy smoothing 0.1 [10] batch 6", 6, 6, 0.1),
        check_smoothed_cross_entropy::<5>("CrossEntropy smoothing 0.3 [5] batch 4", 7, 4, 0.3),
        check_smoothed_cross_entropy::<3>("CrossEntropy smoothing 1.0 [3] batch 3", 8, 3, 1.0),
        check_smoothed_cross_entropy::<4>("CrossEntropy smoothing 0 [4] batch 5", 9, 5, 0.0),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("smoothed cross-entropy: worst scaled error {worst:.3e}");
}
