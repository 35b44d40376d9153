//! `CausalSelfAttention<64, 4>` on a batch of 64 sequences of 16 positions (the reference
//! model's attention, `../shared/refs/torch_words_gpt.py`): microseconds per forward pass, per
//! backward pass (input gradient included) and per both, on 1 and 2 threads, with a
//! `Linear<64, 64>` over the same 1024 positions for scale (the layer runs four such products
//! forward, eight backward). `tools/bench_attention.py` times PyTorch's `nn.MultiheadAttention`
//! the same way.
//!
//! ```sh
//! cargo bench -p nn-bench --bench attention                  # 1 and 2 threads
//! cargo bench -p nn-bench --bench attention -- --threads 1    # one count only
//! ~/.venvs/nn-tools/bin/python tools/bench_attention.py
//! ```

use std::hint::black_box;
use std::time::Instant;

use nn::prelude::*;
use nn::{Mode, Rng};

const BATCH: usize = 64;
type Sequence = [[f32; 64]; 16];

/// The fastest of 200 rounds of 5 calls of `f`, in microseconds per call, after a warm-up
/// round: on a machine shared with other work the fastest round is the one nothing preempted,
/// where a median measures the other work too.
fn best_us(mut f: impl FnMut()) -> f64 {
    (0..201)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..5 {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / 5.0
        })
        .skip(1)
        .fold(f64::INFINITY, f64::min)
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
    let args: Vec<String> = std::env::args().collect();
    let counts = match args.iter().position(|a| a == "--threads") {
        Some(i) => vec![args[i + 1].parse().expect("--threads takes a number")],
        None => vec![1, 2],
    };
    for threads in counts {
        nn::set_num_threads(threads);
        let forward = best_us(|| attention.forward_batch(black_box(&inputs), &mut outputs, &mut cache, Mode::Train));
        let backward = best_us(|| {
            attention.backward_batch(
                black_box(&inputs),
                &outputs,
                &upstream,
                Some(&mut grad_input),
                &mut cache,
                &mut grads,
            )
        });
        let both = best_us(|| {
            attention.forward_batch(black_box(&inputs), &mut outputs, &mut cache, Mode::Train);
            attention.backward_batch(
                &inputs,
                &outputs,
                &upstream,
                Some(&mut grad_input),
                &mut cache,
                &mut grads,
            );
        });
        let linear = best_us(|| linear.forward_batch(black_box(positions), &mut linear_out, &mut (), Mode::Train));
        println!(
            "threads {threads}: attention forward {forward:.1} us, backward {backward:.1} us, forward+backward {both:.1} us; Linear<64, 64> forward on {} rows {linear:.1} us",
            positions.len()
        );
    }
}
