//! The character-level transformer of `shared/refs/torch_words_gpt.py` (`tools/make_words_fixture.py`
//! copies its model) against PyTorch: its `state_dict`, saved with `save_file`, loads with the
//! block renaming the `words` example uses, and the logits, the loss with ignored positions,
//! every gradient and the weights after one AdamW step agree with PyTorch's.

mod common;

use std::path::PathBuf;

use common::words::WordsGpt;
use common::{assert_close, Fixture};
use nn::io::LoadOptions;
use nn::optim::{AdamW, Optimizer};
use nn::prelude::*;
use nn::train::Workspace;
use nn::Mode;

type Tokens = [usize; 16];

/// The bound, relative to the largest expected magnitude of each tensor.
const TOLERANCE: f32 = 1e-4;

/// The reference encodes ignored targets as -1, which reads as `usize::MAX`.
const IGNORE: usize = usize::MAX;

/// PyTorch's key for one of ours: the reference groups the two residual paths of block `i`
/// (our positions `2 + 2i` and `3 + 2i`) as `blocks.{i}`, and its MLP is a `Sequential` whose
/// indices 0 and 2 are our body's positions 1 and 3.
fn torch_key(ours: &str) -> String {
    let Some((position, rest)) = ours.split_once(".body.") else {
        return ours.to_string();
    };
    let position: usize = position.parse().expect("a block's position");
    let block = (position - 2) / 2;
    let rest = match rest.split_once('.') {
        Some(("1", tail)) => format!("mlp.0.{tail}"),
        Some(("3", tail)) => format!("mlp.2.{tail}"),
        _ => rest.to_string(),
    };
    format!("blocks.{block}.{rest}")
}

/// Ours for one of PyTorch's: the inverse of [`torch_key`], as a loading rename.
fn our_key(torch: &str) -> Option<String> {
    let mut found = None;
    WordsGpt::zeros().visit_params("", &mut |key, _, _| {
        if torch_key(key) == torch {
            found = Some(key.to_string());
        }
    });
    found
}

fn checkpoint() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/words_gpt.safetensors")
}

fn load() -> WordsGpt {
    let mut net = WordsGpt::zeros();
    let report = net
        .load_from(checkpoint(), &LoadOptions::strict().rename(our_key))
        .expect("the PyTorch state_dict loads strictly once renamed");
    assert!(report.is_complete());
    net
}

fn tokens(io: &Fixture, key: &str) -> Vec<Tokens> {
    let ids = io.labels(key);
    ids.chunks_exact(16).map(|row| row.try_into().unwrap()).collect()
}

#[test]
fn parameter_count_is_pytorchs() {
    // `sum(p.numel() for p in Gpt().parameters())` in the reference script.
    assert_eq!(WordsGpt::NUM_PARAMS, 104_603);
}

#[test]
fn keys_map_one_to_one_onto_pytorchs() {
    let mut ours = Vec::new();
    WordsGpt::zeros().visit_params("", &mut |key, _, _| ours.push(torch_key(key)));
    let io = Fixture::open("words_gpt.safetensors");
    let mut theirs = io.keys();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
}

#[test]
fn pytorch_checkpoint_gives_pytorchs_logits() {
    let net = load();
    let io = Fixture::open("words_gpt_io.safetensors");
    let inputs = tokens(&io, "input");
    let expected = io.values("logits");
    let mut logits = vec![[[0.0; 27]; 16]; inputs.len()];
    net.forward_batch(&inputs, &mut logits, &mut Default::default(), Mode::Eval);
    let batched = assert_close(logits.as_flattened().as_flattened(), &expected, TOLERANCE, "logits");
    let single: Vec<f32> = inputs.iter().flat_map(|x| net.forward(x)).flatten().collect();
    let one_at_a_time = assert_close(&single, &expected, TOLERANCE, "logits, one sample at a time");
    println!("logits: worst relative difference {batched:.2e} (batched), {one_at_a_time:.2e} (single)");
}

#[test]
fn one_adamw_step_matches_pytorch() {
    let mut net = load();
    let io = Fixture::open("words_gpt_io.safetensors");
    let inputs = tokens(&io, "input");
    let targets = tokens(&io, "target");
    assert!(
        targets.iter().flatten().any(|&t| t == IGNORE),
        "the batch has ignored positions"
    );

    let loss_fn = CrossEntropy.ignore_index(IGNORE);
    let mut workspace = Workspace::<WordsGpt, Tokens, Tokens>::new();
    let loss = workspace.compute_grads(&mut net, &loss_fn, &inputs, &targets);
    // `F.cross_entropy(logits.reshape(-1, 27), y.reshape(-1), ignore_index=-1)`.
    let mut worst = assert_close(&[loss], &io.values("loss"), TOLERANCE, "loss");
    let mut compared = 0;
    workspace.grads().visit_params("", &mut |key, _, grad| {
        // `p.grad` after `loss.backward()`.
        let expected = io.values(&format!("grad.{}", torch_key(key)));
        worst = worst.max(assert_close(grad, &expected, TOLERANCE, key));
        compared += 1;
    });
    // Two embeddings, per block two LayerNorms, attention (4) and the MLP (4), the final
    // LayerNorm and the head.
    assert_eq!(compared, 2 + 2 * 12 + 2 + 2, "every parameter tensor of the reference");

    // `torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01).step()`. The weights are
    // compared within 1e-4 absolute, a tenth of the step: Adam's first step moves a weight by
    // `lr * g / (|g| + 1e-8)`, about 1e-3 whatever the size of `g`, so where `g` is rounding
    // noise in both libraries (the key projection's bias, whose true gradient is 0 because
    // softmax ignores a constant shift of its scores) the step is noise of up to that size.
    let mut optimizer = AdamW::new(1e-3).weight_decay(0.01);
    optimizer.step(&mut net, workspace.grads());
    let mut worst_step = 0.0f32;
    net.visit_params("", &mut |key, _, values| {
        let expected = io.values(&format!("after.{}", torch_key(key)));
        let difference = values
            .iter()
            .zip(&expected)
            .fold(0.0f32, |m, (a, e)| m.max((a - e).abs()));
        assert!(
            difference <= 1e-4,
            "{key} after the step: max difference {difference:e}"
        );
        worst_step = worst_step.max(difference);
    });
    println!("loss and gradients: worst relative difference {worst:.2e}; weights after the step: worst difference {worst_step:.2e}");
}

#[test]
fn a_token_outside_the_vocabulary_is_an_error_not_a_panic() {
    let net = WordsGpt::init(0);
    let mut input = [0; 16];
    input[5] = 27;
    let error = net.predict(&[[0; 16], input]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "sample 1: token id 27 at position 5 is outside the vocabulary of 27 tokens (0..=26)"
    );
}
