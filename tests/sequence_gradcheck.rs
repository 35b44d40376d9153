//! Finite-difference gradient checks of the sequence layers and losses, by the method of
//! `tests/gradcheck.rs` (an f64 reimplementation of each forward pass written here, central
//! differences of `L = sum c * y` for a layer and of the mean loss for a loss, the tolerance of
//! `tests/common/gradcheck.rs`): `PositionEmbedding` (weight and input), `Embedding` (weight;
//! token ids have no gradient), and the sequence cross-entropy, plain and with an ignore index
//! (gradient with respect to the logits, exactly 0 at ignored positions). Run with
//! `cargo test --test sequence_gradcheck -- --nocapture` to see the worst error of each check.

mod common;

use common::gradcheck::{
    all, check, check_forward, check_layer, cross_entropy64, dot, flat64, numeric_grad, random_batch, Layout,
};
use nn::loss::{CrossEntropy, Loss};
use nn::prelude::*;
use nn::{Mode, Rng};

const IGNORED: usize = usize::MAX;

#[test]
fn position_embedding_gradients() {
    let mut rng = Rng::seed(1);
    // A table of 5 positions on sequences of 3: rows 3 and 4 take no part and get gradient 0.
    let positions = PositionEmbedding::<5, 4>::init_with(&mut rng);
    let inputs: Vec<[[f32; 4]; 3]> = random_batch(&mut rng, 3, -2.0, 2.0);
    let reference = |layout: &Layout, p: &[f64], x: &[f64]| -> Vec<f64> {
        let weight = layout.get(p, "weight");
        // x is [batch, 3, 4]: value i of a sample is row i / 4, whose table row has the same index.
        x.iter().enumerate().map(|(i, v)| v + weight[i % 12]).collect()
    };
    check_layer(
        "PositionEmbedding<5, 4> on [3, 4]",
        &positions,
        &inputs,
        &mut rng,
        reference,
    );
}

#[test]
fn embedding_weight_gradient() {
    let mut rng = Rng::seed(2);
    let embedding = Embedding::<6, 3>::init_with(&mut rng);
    // Ids repeat within and across samples (the gradient must add them up); id 5 never occurs
    // (its gradient is 0).
    let inputs: Vec<[usize; 4]> = vec![[0, 3, 3, 1], [2, 0, 4, 3], [1, 1, 0, 2]];
    let coeffs: Vec<[[f32; 3]; 4]> = random_batch(&mut rng, inputs.len(), -1.0, 1.0);

    let mut outputs = vec![[[0.0; 3]; 4]; inputs.len()];
    embedding.forward_batch(&inputs, &mut outputs, &mut (), Mode::Train);
    let mut grads = Embedding::<6, 3>::zeros();
    grads.weight.as_flattened_mut().fill(f32::NAN); // must be overwritten
    embedding.backward_batch(&inputs, &outputs, &coeffs, None, &mut (), &mut grads);

    let ids: Vec<usize> = inputs.as_flattened().to_vec();
    // y[b][t] = weight[ids[b][t]], in f64.
    let reference = |p: &[f64]| -> Vec<f64> { ids.iter().flat_map(|&id| p[id * 3..id * 3 + 3].to_vec()).collect() };
    let (_, params) = Layout::of(&embedding);
    check_forward(
        "Embedding<6, 3>",
        outputs.as_flattened().as_flattened(),
        &reference(&params),
    );
    let c = flat64(&coeffs);
    // Expected values: central differences of L = sum c * y(weight) in f64.
    let numeric = numeric_grad(&params, &all(params.len()), |p| dot(&c, &reference(p)));
    let (_, analytic) = Layout::of(&grads);
    check("Embedding<6, 3> weight", &analytic, &numeric);
    assert_eq!(grads.weight[5], [0.0; 3], "an id that does not occur gets no gradient");
}

/// The mean cross-entropy over the positions whose label is not [`IGNORED`], in f64, of a flat
/// batch of `[T, C]` logits.
fn sequence_loss64(logits: &[f64], labels: &[usize], classes: usize) -> f64 {
    let counted: Vec<(&[f64], usize)> = logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|&(_, &label)| label != IGNORED)
        .map(|(row, &label)| (row, label))
        .collect();
    counted
        .iter()
        .map(|&(row, label)| cross_entropy64(row, label))
        .sum::<f64>()
        / counted.len() as f64
}

/// `loss`'s gradient with respect to the logits against central differences of
/// [`sequence_loss64`], and its value against the f64 loss. Returns the analytic gradient.
fn check_sequence_loss<L>(name: &str, loss: &L, logits: &[[[f32; 5]; 4]], labels: &[[usize; 4]]) -> Vec<f64>
where
    L: Loss<[[f32; 5]; 4], Target = [usize; 4]>,
{
    let mut grad = vec![[[f32::NAN; 5]; 4]; logits.len()]; // must be overwritten
    let value = loss.loss_and_grad(logits, labels, &mut grad);
    let (x, flat_labels) = (flat64(logits), labels.as_flattened());
    check_forward(name, &[value], &[sequence_loss64(&x, flat_labels, 5)]);
    // Expected values: central differences of the f64 mean loss with respect to every logit.
    let numeric = numeric_grad(&x, &all(x.len()), |x| sequence_loss64(x, flat_labels, 5));
    let analytic = flat64(&grad);
    check(&format!("{name} logits"), &analytic, &numeric);
    analytic
}

#[test]
fn sequence_cross_entropy_gradient() {
    let mut rng = Rng::seed(3);
    let logits: Vec<[[f32; 5]; 4]> = random_batch(&mut rng, 3, -3.0, 3.0);
    let labels = vec![[0, 4, 2, 2], [1, 3, 0, 4], [2, 2, 1, 0]];
    check_sequence_loss("CrossEntropy on [4, 5]", &CrossEntropy, &logits, &labels);
}

#[test]
fn ignore_index_cross_entropy_gradient() {
    let mut rng = Rng::seed(4);
    let logits: Vec<[[f32; 5]; 4]> = random_batch(&mut rng, 3, -3.0, 3.0);
    // 3 + 1 + 2 positions count; the mean is over those 6, not over 12 or per sample.
    let labels = vec![
        [0, 4, 2, IGNORED],
        [IGNORED, 3, IGNORED, IGNORED],
        [2, IGNORED, 1, IGNORED],
    ];
    let analytic = check_sequence_loss(
        "CrossEntropy.ignore_index on [4, 5]",
        &CrossEntropy.ignore_index(IGNORED),
        &logits,
        &labels,
    );
    for (position, &label) in labels.as_flattened().iter().enumerate() {
        if label == IGNORED {
            assert!(
                analytic[position * 5..][..5].iter().all(|&g| g == 0.0),
                "ignored position {position} has a gradient"
            );
        }
    }
}
