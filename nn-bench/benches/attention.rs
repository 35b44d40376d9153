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

mod best;

use std::hint::black_box;

use best::{best_us, Passes};

use nn::prelude::*;
use nn::{Mode, Rng};

const BATCH: usize = 64;
type Sequence = [[f32; 64]; 16];

fn main() {
    let mut rng = Rng::seed(0);
    let attention = CausalSelfAttention::<64, 4>::init_with(&mut rng);
    let linear = Linear::<64, 64>::init_with(&mut rng);
    let inputs: Vec<Sequence> = (0..BATCH)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0))))
        .collect();
    let upstream = inputs.clone();
    let mut passes = Passes::new(&inputs);
    let positions = inputs.as_flattened();
    let mut linear_out = vec![[0.0; 64]; positions.len()];
    let args: Vec<String> = std::env::args().collect();
    let counts = match args.iter().position(|a| a == "--threads") {
        Some(i) => vec![args[i + 1].parse().expect("--threads takes a number")],
        None => vec![1, 2],
    };
    for threads in counts {
        nn::set_num_threads(threads);
        let (forward, backward) = passes.time(&attention, &inputs, &upstream);
        let Passes {
            outputs,
            grad_input,
            grads,
            cache,
        } = &mut passes;
        let both = best_us(|| {
            attention.forward_batch(black_box(&inputs), outputs, cache, Mode::Train);
            attention.backward_batch(&inputs, outputs, &upstream, Some(grad_input), cache, grads);
        });
        let linear = best_us(|| linear.forward_batch(black_box(positions), &mut linear_out, &mut (), Mode::Train));
        println!(
            "threads {threads}: attention forward {forward:.1} us, backward {backward:.1} us, forward+backward {both:.1} us; Linear<64, 64> forward on {} rows {linear:.1} us",
            positions.len()
        );
    }
}
