//! `Embedding` and `PositionEmbedding` identical to PyTorch's `nn.Embedding` (as a token table
//! and as the reference model's `pos(torch.arange(T))`), against
//! `tests/fixtures/embedding.safetensors` and `tests/fixtures/words_gpt*.safetensors`, written by
//! `tools/make_words_fixture.py`: forward values, parameter gradients and input gradients. Each
//! comparison names the PyTorch call that produced the expected numbers. Tolerance: 1e-6
//! relative (max-norm, see `common::assert_close`); both layers only copy, add and sum, so the
//! differences are rounding of sums in another order, or none. Run with `-- --nocapture` to see
//! them.

mod common;

use common::{assert_close, Fixture};
use nn::prelude::*;
use nn::Mode;

const TOLERANCE: f32 = 1e-6;

/// An int64 fixture tensor `[batch, T]` of token ids as a batch of `[usize; T]`.
fn token_batch<const T: usize>(fixture: &Fixture, key: &str) -> Vec<[usize; T]> {
    let ids = fixture.labels(key);
    assert_eq!(ids.len() % T, 0, "{key}");
    ids.chunks_exact(T).map(|row| row.try_into().unwrap()).collect()
}

#[test]
fn embedding_matches_torch() {
    let fixture = Fixture::open("embedding.safetensors");
    // embedding.weight: torch.manual_seed(40); nn.Embedding(7, 5).weight
    let embedding = fixture.load_params(Embedding::<7, 5>::zeros(), "embedding.");
    let input: Vec<[usize; 6]> = token_batch(&fixture, "embedding.input");
    let upstream: Vec<[[f32; 5]; 6]> = fixture.batch("embedding.upstream");

    let mut output = vec![[[f32::NAN; 5]; 6]; input.len()];
    embedding.forward_batch(&input, &mut output, &mut (), Mode::Train);
    // embedding.output = emb(input)
    let expected = fixture.values("embedding.output");
    let forward = assert_close(output.as_flattened().as_flattened(), &expected, TOLERANCE, "output");
    let single: Vec<[[f32; 5]; 6]> = input.iter().map(|ids| embedding.forward(ids)).collect();
    assert_eq!(single, output, "forward and forward_batch agree");
    for (sample, ids) in input.iter().enumerate() {
        embedding
            .check_input(ids, sample)
            .expect("ids of the fixture are in the vocabulary");
    }

    let mut grads = Embedding::<7, 5>::zeros();
    grads.weight.as_flattened_mut().fill(f32::NAN); // must be overwritten
    embedding.backward_batch(&input, &output, &upstream, None, &mut (), &mut grads);
    // embedding.grad.weight = emb.weight.grad of (emb(input) * upstream).sum()
    let backward = fixture.assert_params(&grads, "embedding.grad.", TOLERANCE);
    println!("Embedding<7, 5>: output {forward:.2e}, weight gradient {backward:.2e} (max relative difference)");
}

#[test]
fn position_embedding_matches_torch() {
    let fixture = Fixture::open("embedding.safetensors");
    // position.weight: torch.manual_seed(41); nn.Embedding(8, 5).weight (8 positions, sequences of 6)
    let positions = fixture.load_params(PositionEmbedding::<8, 5>::zeros(), "position.");
    let (outputs, grads, grad_input) = common::backward(
        &positions,
        &fixture.batch::<[[f32; 5]; 6]>("position.input"),
        &fixture.batch::<[[f32; 5]; 6]>("position.upstream"),
    );
    // position.output = input + pos(torch.arange(6))
    let forward = assert_close(
        outputs.as_flattened().as_flattened(),
        &fixture.values("position.output"),
        TOLERANCE,
        "output",
    );
    // position.grad.weight = pos.weight.grad of (output * upstream).sum(): rows 6 and 7 are 0
    let weight = fixture.assert_params(&grads, "position.grad.", TOLERANCE);
    assert_eq!(
        grads.weight[6..],
        [[0.0; 5]; 2],
        "positions past the sequence get no gradient"
    );
    // position.grad.input = input.grad of the same sum: the upstream gradient itself
    let input = assert_close(
        grad_input.as_flattened().as_flattened(),
        &fixture.values("position.grad.input"),
        TOLERANCE,
        "input gradient",
    );
    println!(
        "PositionEmbedding<8, 5> on 6 positions: output {forward:.2e}, weight gradient {weight:.2e}, input gradient {input:.2e}"
    );
}

/// The first stage of the words model of `../shared/refs/torch_words_gpt.py`, loaded from its
/// PyTorch checkpoint: `tok(x) + pos(torch.arange(16))` for a batch of 8 encoded words.
#[test]
fn words_model_embedding_stage_matches_torch() {
    let checkpoint = Fixture::open("words_gpt.safetensors");
    let io = Fixture::open("words_gpt_io.safetensors");
    // tok.weight, pos.weight: torch.manual_seed(0); Gpt() (nn.Embedding(27, 64), nn.Embedding(16, 64))
    let tokens = checkpoint.load_params(Embedding::<27, 64>::zeros(), "tok.");
    let positions = checkpoint.load_params(PositionEmbedding::<16, 64>::zeros(), "pos.");
    let input: Vec<[usize; 16]> = token_batch(&io, "input");
    let embedded: Vec<[[f32; 64]; 16]> = input
        .iter()
        .map(|ids| positions.forward(&tokens.forward(ids)))
        .collect();
    // embedded = model.tok(input) + model.pos(torch.arange(16))
    let difference = assert_close(
        embedded.as_flattened().as_flattened(),
        &io.values("embedded"),
        TOLERANCE,
        "embedded",
    );
    println!("words Gpt tok(x) + pos(arange(16)): {difference:.2e}");
}
