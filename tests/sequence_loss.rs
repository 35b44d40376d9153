//! Cross-entropy over sequences, plain and with `ignore_index`, identical to PyTorch's
//! `F.cross_entropy(logits.reshape(-1, C), y.reshape(-1)[, ignore_index=-1])`, against
//! `tests/fixtures/embedding.safetensors` and `tests/fixtures/words_gpt_io.safetensors` written by
//! `tools/make_words_fixture.py`: the mean loss and its gradient with respect to the logits. Each
//! comparison names the PyTorch call that produced the expected numbers. Tolerance: 1e-6
//! relative (max-norm, see `common::assert_close`). Run with `-- --nocapture` to see the
//! differences.
//!
//! PyTorch's ignored label `-1`, read from int64 as `usize`, is `usize::MAX`: the ignore index
//! used here.

mod common;

use common::{assert_close, Fixture};
use nn::loss::{CrossEntropy, IgnoreIndexCrossEntropy, Loss};
use nn::Error;

const TOLERANCE: f32 = 1e-6;
const IGNORED: usize = usize::MAX;

fn label_batch<const T: usize>(fixture: &Fixture, key: &str) -> Vec<[usize; T]> {
    let labels = fixture.labels(key);
    assert_eq!(labels.len() % T, 0, "{key}");
    labels.chunks_exact(T).map(|row| row.try_into().unwrap()).collect()
}

/// Loss and gradient of `loss` on `logits`/`targets` against `<name>.loss` and `<name>.grad`;
/// `loss()` must agree with `loss_and_grad()`. Returns the two relative differences.
fn check<L, const C: usize, const T: usize>(
    fixture: &Fixture,
    loss: &L,
    logits: &[[[f32; C]; T]],
    targets: &[[usize; T]],
    name: &str,
) -> (f32, f32)
where
    L: Loss<[[f32; C]; T], Target = [usize; T]>,
{
    let mut grad = vec![[[f32::NAN; C]; T]; logits.len()]; // must be overwritten
    let value = loss.loss_and_grad(logits, targets, &mut grad);
    let expected = fixture.values(&format!("{name}.loss"));
    let loss_difference = assert_close(&[value], &expected, TOLERANCE, &format!("{name}.loss"));
    assert_close(
        &[loss.loss(logits, targets)],
        &[value],
        TOLERANCE,
        &format!("{name}: loss()"),
    );
    let grad_difference = assert_close(
        grad.as_flattened().as_flattened(),
        &fixture.values(&format!("{name}.grad")),
        TOLERANCE,
        &format!("{name}.grad"),
    );
    println!("{name:<12} loss {value:<10.6} difference from torch: loss {loss_difference:.2e}, gradient {grad_difference:.2e}");
    (loss_difference, grad_difference)
}

#[test]
fn sequence_cross_entropy_matches_torch() {
    let fixture = Fixture::open("embedding.safetensors");
    // torch.manual_seed(42); sequence.logits = torch.randn(4, 6, 5) * 2 (one position of +-1000);
    // sequence.labels = torch.randint(0, 5, (4, 6))
    let logits: Vec<[[f32; 5]; 6]> = fixture.batch("sequence.logits");
    let labels: Vec<[usize; 6]> = label_batch(&fixture, "sequence.labels");
    // sequence.loss = F.cross_entropy(logits.reshape(-1, 5), labels.reshape(-1)); sequence.grad = logits.grad
    check(&fixture, &CrossEntropy, &logits, &labels, "sequence");
    assert_eq!(Loss::<[[f32; 5]; 6]>::counted(&CrossEntropy, &labels), 24);
}

#[test]
fn ignore_index_cross_entropy_matches_torch() {
    let fixture = Fixture::open("embedding.safetensors");
    let logits: Vec<[[f32; 5]; 6]> = fixture.batch("sequence.logits");
    // ignore.labels: sequence.labels with -1 after lengths 2, 6, 0, 4 and at sample 1, position 1
    let labels: Vec<[usize; 6]> = label_batch(&fixture, "ignore.labels");
    let loss = CrossEntropy.ignore_index(IGNORED);
    // ignore.loss = F.cross_entropy(logits.reshape(-1, 5), labels.reshape(-1), ignore_index=-1); ignore.grad = logits.grad
    check(&fixture, &loss, &logits, &labels, "ignore");
    assert_eq!(Loss::<[[f32; 5]; 6]>::counted(&loss, &labels), 2 + 5 + 4);
}

/// What an evaluation over many batches computes from [`Loss::counted`]: the mean over every
/// counted position of the set, `sum(batch_mean * counted) / sum(counted)`, equals the loss of
/// the whole batch at once (PyTorch's mean over the set), although the batches count different
/// numbers of positions (2 + 5 and 0 + 4).
#[test]
fn batch_means_weighted_by_counted_positions_give_the_mean_of_the_whole_set() {
    let fixture = Fixture::open("embedding.safetensors");
    let logits: Vec<[[f32; 5]; 6]> = fixture.batch("sequence.logits");
    let labels: Vec<[usize; 6]> = label_batch(&fixture, "ignore.labels");
    let loss = CrossEntropy.ignore_index(IGNORED);
    let (mut weighted, mut counted) = (0.0f64, 0usize);
    for (logits, labels) in logits.chunks(2).zip(labels.chunks(2)) {
        let n = Loss::<[[f32; 5]; 6]>::counted(&loss, labels);
        weighted += f64::from(loss.loss(logits, labels)) * n as f64;
        counted += n;
    }
    let whole = loss.loss(&logits, &labels);
    assert_close(
        &[(weighted / counted as f64) as f32],
        &[whole],
        TOLERANCE,
        "mean over batches",
    );
    // The plain per-batch average would weight the batches equally and differ.
    let unweighted = logits
        .chunks(2)
        .zip(labels.chunks(2))
        .map(|(x, y)| loss.loss(x, y))
        .sum::<f32>()
        / 2.0;
    assert!((unweighted - whole).abs() > 1e-2, "{unweighted} vs {whole}");
}

/// PyTorch gives NaN (0 / 0) when every position is ignored (tools/make_words_fixture.py
/// asserts it); nn gives loss 0 and a zero gradient, so such a batch changes nothing.
#[test]
fn a_batch_of_only_ignored_positions_has_loss_zero() {
    let fixture = Fixture::open("embedding.safetensors");
    let logits: Vec<[[f32; 5]; 6]> = fixture.batch("sequence.logits");
    let labels = vec![[IGNORED; 6]; logits.len()];
    let mut grad = vec![[[f32::NAN; 5]; 6]; logits.len()];
    let loss = CrossEntropy.ignore_index(IGNORED);
    assert_eq!(loss.loss_and_grad(&logits, &labels, &mut grad), 0.0);
    assert!(grad.as_flattened().as_flattened().iter().all(|&g| g == 0.0));
}

#[test]
fn labels_outside_the_classes_are_errors_naming_the_position() {
    let plain = Loss::<[[f32; 5]; 3]>::check_target(&CrossEntropy, &[4, 5, 0], 9).unwrap_err();
    assert!(matches!(
        plain,
        Error::PositionLabelOutOfRange {
            index: 9,
            position: 1,
            label: 5,
            classes: 5
        }
    ));
    assert_eq!(
        plain.to_string(),
        "sample 9 has label 5 at position 1, but the network has only 5 outputs (classes 0..5)"
    );
    // The ignore index is no error; any other label beyond the classes is, the plain loss
    // rejects the ignore index too.
    let loss = IgnoreIndexCrossEntropy::new(IGNORED);
    assert!(Loss::<[[f32; 5]; 3]>::check_target(&loss, &[IGNORED, 4, IGNORED], 0).is_ok());
    assert!(Loss::<[[f32; 5]; 3]>::check_target(&loss, &[0, 7, IGNORED], 0).is_err());
    assert!(Loss::<[[f32; 5]; 3]>::check_target(&CrossEntropy, &[0, 1, IGNORED], 0).is_err());
}

/// The loss of the words model of `../shared/refs/torch_words_gpt.py` on its fixture batch:
/// PyTorch's logits (evaluation mode) and targets, `-1` past each word's end.
#[test]
fn words_model_loss_matches_torch() {
    let io = Fixture::open("words_gpt_io.safetensors");
    // logits = model(input) in eval mode, no grad; target = encode(words)[1]
    let logits: Vec<[[f32; 27]; 16]> = io.batch("logits");
    let targets: Vec<[usize; 16]> = label_batch(&io, "target");
    let loss = CrossEntropy.ignore_index(IGNORED);
    for (index, target) in targets.iter().enumerate() {
        Loss::<[[f32; 27]; 16]>::check_target(&loss, target, index).expect("the fixture's targets are valid");
    }
    // loss = F.cross_entropy(model(input).reshape(-1, 27), target.reshape(-1), ignore_index=-1),
    // computed by PyTorch in training mode: the model has no dropout, so its logits are those of
    // evaluation mode up to the rounding of the attention's other code path.
    let value = loss.loss(&logits, &targets);
    let difference = assert_close(&[value], &io.values("loss"), TOLERANCE, "words loss");
    println!("words Gpt loss {value:.6}: difference from torch {difference:.2e}");
}
