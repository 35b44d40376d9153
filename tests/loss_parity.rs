//! `BceWithLogits` and label-smoothed `CrossEntropy` identical to PyTorch's, against
//! `tests/fixtures/losses.safetensors` written by `tools/make_fixtures.py` (PyTorch 2.15, CPU):
//! the mean loss and its gradient with respect to the logits. Each comparison names the
//! PyTorch call that produced the expected numbers. Tolerance: 1e-6 relative (max-norm).

mod common;

use common::{assert_close, Fixture};
use nn::loss::{BceWithLogits, CrossEntropy, Loss, SmoothedCrossEntropy};

const TOLERANCE: f32 = 1e-6;

/// Loss and gradient of `loss` on `logits`/`targets`, compared with `<name>.loss` and
/// `<name>.grad`; `loss()` must give the same value as `loss_and_grad()`.
fn check<L, const N: usize>(fixture: &Fixture, loss: &L, logits: &[[f32; N]], targets: &[L::Target], name: &str)
where
    L: Loss<[f32; N]>,
{
    let mut grad = vec![[f32::NAN; N]; logits.len()]; // must be overwritten
    let value = loss.loss_and_grad(logits, targets, &mut grad);
    assert_close(
        &[value],
        &fixture.values(&format!("{name}.loss")),
        TOLERANCE,
        &format!("{name}.loss"),
    );
    assert_close(
        &[loss.loss(logits, targets)],
        &[value],
        TOLERANCE,
        &format!("{name}: loss()"),
    );
    assert_close(
        grad.as_flattened(),
        &fixture.values(&format!("{name}.grad")),
        TOLERANCE,
        &format!("{name}.grad"),
    );
    let loss_difference = difference(&[value], &fixture.values(&format!("{name}.loss")));
    let grad_difference = difference(grad.as_flattened(), &fixture.values(&format!("{name}.grad")));
    println!("{name:<40} loss {value:<12.6} difference from torch: loss {loss_difference:.2e}, gradient {grad_difference:.2e}");
}

/// `max |a - e| / max |e|`, the quantity [`assert_close`] bounds.
fn difference(actual: &[f32], expected: &[f32]) -> f32 {
    let scale = expected.iter().fold(0.0f32, |m, e| m.max(e.abs()));
    let error = actual
        .iter()
        .zip(expected)
        .fold(0.0f32, |m, (a, e)| m.max((a - e).abs()));
    error / scale
}

#[test]
fn bce_with_logits_matches_torch() {
    let fixture = Fixture::open("losses.safetensors");
    let logits: Vec<[f32; 4]> = fixture.batch("bce.logits");
    let target: Vec<[f32; 4]> = fixture.batch("bce.target");
    // bce.loss = nn.BCEWithLogitsLoss()(logits, target); bce.grad = logits.grad
    check(&fixture, &BceWithLogits, &logits, &target, "bce");
}

#[test]
fn bce_with_logits_is_stable_for_huge_logits() {
    let fixture = Fixture::open("losses.safetensors");
    // Logits up to +-100: exp(100) overflows f32; the stable form never takes it.
    let logits: Vec<[f32; 5]> = fixture.batch("bce_extreme.logits");
    let target: Vec<[f32; 5]> = fixture.batch("bce_extreme.target");
    // bce_extreme.loss = nn.BCEWithLogitsLoss()(logits, target); bce_extreme.grad = logits.grad
    check(&fixture, &BceWithLogits, &logits, &target, "bce_extreme");
}

#[test]
fn bce_with_logits_counts_correct_predictions() {
    assert_eq!(BceWithLogits.is_correct(&[2.0, -1.0], &[1.0, 0.0]), Some(true));
    assert_eq!(BceWithLogits.is_correct(&[2.0, 1.0], &[1.0, 0.0]), Some(false));
    assert_eq!(BceWithLogits.is_correct(&[-0.5], &[0.2]), Some(true));
}

#[test]
fn cross_entropy_with_label_smoothing_matches_torch() {
    let fixture = Fixture::open("losses.safetensors");
    let logits: Vec<[f32; 5]> = fixture.batch("cross_entropy.logits");
    let labels = fixture.labels("cross_entropy.labels");
    for (eps, key) in [(0.0, "0.0"), (0.1, "0.1"), (0.25, "0.25"), (1.0, "1.0")] {
        // cross_entropy.smoothing_<eps>.loss = nn.CrossEntropyLoss(label_smoothing=eps)(logits, labels)
        // cross_entropy.smoothing_<eps>.grad = logits.grad
        let name = format!("cross_entropy.smoothing_{key}");
        check(
            &fixture,
            &CrossEntropy::with_label_smoothing(eps),
            &logits,
            &labels,
            &name,
        );
    }
    // Smoothing 0 is torch's plain nn.CrossEntropyLoss(), and so is our CrossEntropy.
    check(&fixture, &CrossEntropy, &logits, &labels, "cross_entropy.smoothing_0.0");
}

#[test]
fn cross_entropy_with_label_smoothing_is_stable_for_huge_logits() {
    let fixture = Fixture::open("losses.safetensors");
    // Logits up to +-1000.
    let logits: Vec<[f32; 5]> = fixture.batch("cross_entropy_extreme.logits");
    let labels = fixture.labels("cross_entropy_extreme.labels");
    // cross_entropy_extreme.smoothing_0.1.loss = nn.CrossEntropyLoss(label_smoothing=0.1)(logits, labels)
    let loss = SmoothedCrossEntropy::new(0.1);
    check(&fixture, &loss, &logits, &labels, "cross_entropy_extreme.smoothing_0.1");
}

#[test]
fn smoothed_cross_entropy_checks_labels_and_counts_correct_predictions() {
    let loss = CrossEntropy::with_label_smoothing(0.1);
    assert!(Loss::<[f32; 3]>::check_target(&loss, &2, 0).is_ok());
    let error = Loss::<[f32; 3]>::check_target(&loss, &3, 7).unwrap_err();
    assert!(error.to_string().contains('7'), "{error}");
    assert_eq!(loss.is_correct(&[0.1, 3.0, -1.0], &1), Some(true));
    assert_eq!(loss.is_correct(&[0.1, 3.0, -1.0], &0), Some(false));
}

/// A batch large enough for the vectorised exponentials (blocks of 64 values and a rest):
/// loss and gradient within 1e-6 of the same formulas in f64, `loss()` the same bits as
/// `loss_and_grad()`, and a logit of minus infinity given probability exactly 0, as in torch.
#[test]
fn cross_entropy_of_a_large_batch_matches_f64() {
    const N: usize = 10;
    let mut rng = nn::Rng::seed(7);
    let mut logits: Vec<[f32; N]> = (0..103)
        .map(|_| std::array::from_fn(|_| rng.uniform(-30.0, 30.0)))
        .collect();
    logits[5][3] = f32::NEG_INFINITY;
    let labels: Vec<usize> = (0..logits.len()).map(|i| (i * 7) % N).collect();
    let mut grad = vec![[f32::NAN; N]; logits.len()];
    let value = CrossEntropy.loss_and_grad(&logits, &labels, &mut grad);
    assert_eq!(value.to_bits(), CrossEntropy.loss(&logits, &labels).to_bits());
    assert_eq!(grad[5][3].to_bits(), 0.0f32.to_bits(), "exp(-inf) must be 0");

    // The f64 reference: loss = mean(logsumexp(x) - x[label]), grad = (softmax(x) - onehot) / batch.
    let batch = logits.len() as f64;
    let mut expected_loss = 0.0;
    let mut expected_grad = Vec::new();
    for (row, &label) in logits.iter().zip(&labels) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
        let sum: f64 = row.iter().map(|&x| (f64::from(x) - max).exp()).sum();
        expected_loss += (sum.ln() + max - f64::from(row[label])) / batch;
        for (class, &x) in row.iter().enumerate() {
            let onehot = if class == label { 1.0 } else { 0.0 };
            expected_grad.push((((f64::from(x) - max).exp() / sum - onehot) / batch) as f32);
        }
    }
    assert_close(&[value], &[expected_loss as f32], TOLERANCE, "loss");
    assert_close(grad.as_flattened(), &expected_grad, TOLERANCE, "gradient");
}
