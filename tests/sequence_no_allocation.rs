//! The sequence pieces allocate nothing: `Embedding` and `PositionEmbedding` forward and
//! backward passes (after the first, which sizes the position table's cache), the sequence
//! losses with their gradients, and `Sampler::sample`. A counting global allocator proves it.

mod common;

use common::alloc::{allocations_during, CountingAllocator};
use common::gradcheck::random_batch;
use nn::loss::{CrossEntropy, Loss};
use nn::prelude::*;
use nn::{Mode, Rng, Sampler};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn sequence_layers_losses_and_sampling_do_not_allocate() {
    let mut rng = Rng::seed(0);
    let tokens = Embedding::<27, 8>::init_with(&mut rng);
    let positions = PositionEmbedding::<16, 8>::init_with(&mut rng);
    let (mut token_grads, mut position_grads) = (Embedding::<27, 8>::zeros(), PositionEmbedding::<16, 8>::zeros());
    let ids: Vec<[usize; 16]> = (0..4).map(|b| std::array::from_fn(|t| (b * 16 + t) % 27)).collect();
    let mut embedded = vec![[[0.0; 8]; 16]; 4];
    let mut summed = vec![[[0.0; 8]; 16]; 4];
    let mut grad_embedded = vec![[[0.0; 8]; 16]; 4];
    let upstream: Vec<[[f32; 8]; 16]> = random_batch(&mut rng, 4, -1.0, 1.0);
    let logits: Vec<[[f32; 27]; 16]> = random_batch(&mut rng, 4, -3.0, 3.0);
    let mut grad_logits = vec![[[0.0; 27]; 16]; 4];
    let targets: Vec<[usize; 16]> = ids
        .iter()
        .map(|row| row.map(|id| if id > 20 { usize::MAX } else { id }))
        .collect();
    let padded = CrossEntropy.ignore_index(usize::MAX);
    let sampler = Sampler::new(0.8, Some(5)).unwrap();

    // The position table keeps its groups' gradient sums in its cache, sized by the first
    // backward pass (as a workspace's first step sizes every buffer).
    let mut position_cache = Vec::new();
    let grad_embedded_first = &mut grad_embedded.clone();
    positions.backward_batch(
        &embedded,
        &summed,
        &upstream,
        Some(grad_embedded_first),
        &mut position_cache,
        &mut position_grads,
    );

    let allocations = allocations_during(|| {
        tokens.forward_batch(&ids, &mut embedded, &mut (), Mode::Train);
        positions.forward_batch(&embedded, &mut summed, &mut position_cache, Mode::Train);
        positions.backward_batch(
            &embedded,
            &summed,
            &upstream,
            Some(&mut grad_embedded),
            &mut position_cache,
            &mut position_grads,
        );
        tokens.backward_batch(&ids, &embedded, &grad_embedded, None, &mut (), &mut token_grads);
        let _ = tokens.forward(&ids[0]);
        CrossEntropy.loss_and_grad(&logits, &ids, &mut grad_logits);
        padded.loss_and_grad(&logits, &targets, &mut grad_logits);
        let _ = padded.loss(&logits, &targets);
        for position in &logits[0] {
            sampler.sample(position, &mut rng);
        }
    });
    assert_eq!(allocations, 0);
    let counter_works = allocations_during(|| drop(std::hint::black_box(vec![1u8])));
    assert_eq!(counter_works, 1, "the counting allocator is installed");
}
