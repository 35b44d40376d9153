//! `CausalSelfAttention<64, 4>` on a batch of 64 sequences of 16 positions (the reference
//! model's attention, `../shared/refs/torch_words_gpt.py`): microseconds per forward pass, per
//! backward pass (input gradient included) and per both, on 1 and 2 threads, with a
//! `Linear<64, 64>` over the same 1024 positions for scale (the layer runs four such products
//! forward, eight backward). `tools/bench_attention.py` times PyTorch's `nn.MultiheadAttention`
//! the same way.
//!
//! ```sh
//! cargo bench -p nn-bench --bench attention
//! ~/.venvs/nn-tools/bin/python tools/bench_attention.py
//! ```

use std::hint::black_box;
use std::time::Instant;

use nn::prelude::*;
use nn::{Mode, Rng};

const BATCH: usize = 64;
type Sequence = [[f32; 64]; 16];

/// The median over 15 rounds of the mean time of `f` in microseconds, after a warm-up round.
fn median_us(mut f: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..16)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..50 {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / 50.0
        })
        .skip(1)
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn main() {
    let mut rng = Rng::seed(0);
    let attention = CausalSelfAttention::<64, 4>::init_with(&mut rng);
    let linear = Linear::<64, 64>::init_with(&mut rng);
    let inputs: Vec<Sequence> = (0..BATCH)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0))))
        .collect();
    let upstream = inputs.clone();
    let mut outputs = vec![[[0.0; 64]; 16]; BATCH];
    let mut grad_input = outputs.clone();
    let mut grads = CausalSelfAttention::<64, 4>::zeros();
    let mut cache = Default::default();
    let positions = inputs.as_flattened();
    let mut linear_out = vec![[0.0; 64]; positions.len()];
    for threads in [1, 2] {
        nn::set_num_threads(threads);
        let forward = median_us(|| attention.forward_batch(black_box(&inputs), &mut outputs, &mut cache, Mode::Train));
        let backward = median_us(|| {
            attention.backward_batch(
                black_box(&inputs),
                &outputs,
                &upstream,
                Some(&mut grad_input),
                &mut cache,
                &mut grads,
            )
        });
        let both = median_us(|| {
            attention.forward_batch(black_box(&inputs), &mut outputs, &mut cache, Mode::Train);
            attention.backward_batch(&inputs, &outputs, &upstream, Some(&mut grad_input), &mut cache, &mut grads);
        });
        let linear = median_us(|| linear.forward_batch(black_box(positions), &mut linear_out, &mut (), Mode::Train));
        println!(
            "threads {threads}: attention forward {forward:.1} us, backward {backward:.1} us, forward+backward {both:.1} us; Linear<64, 64> forward on {} rows {linear:.1} us",
            positions.len()
        );
    }
}
