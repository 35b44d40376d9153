//! The element-wise and row-wise layers of the words transformer (`LayerNorm<64>` on its
//! `[16, 64]` positions, `GELU` on its `[16, 256]` hidden rows) on a batch of 64 sequences:
//! microseconds per forward and backward pass, on 1 thread (the fastest of 200 rounds).
//!
//! ```sh
//! cargo bench -p nn-bench --bench layers
//! ```

use std::hint::black_box;
use std::time::Instant;

use nn::prelude::*;
use nn::{Mode, Rng};

const BATCH: usize = 64;

/// The fastest of 200 rounds of 5 calls of `f`, in microseconds per call, after a warm-up round.
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

/// Forward and backward microseconds of `layer` on random sequences of `[T, N]`.
fn time_layer<L, const T: usize, const N: usize>(name: &str, layer: &L, rng: &mut Rng)
where
    L: Layer<[[f32; N]; T], Output = [[f32; N]; T]> + Module,
{
    let random = |rng: &mut Rng| -> Vec<[[f32; N]; T]> {
        (0..BATCH)
            .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-2.0, 2.0))))
            .collect()
    };
    let (inputs, upstream) = (random(rng), random(rng));
    let mut outputs = inputs.clone();
    let mut grad_input = inputs.clone();
    let mut grads = L::zeros();
    let mut cache = Default::default();
    let forward = best_us(|| layer.forward_batch(black_box(&inputs), &mut outputs, &mut cache, Mode::Train));
    let backward = best_us(|| {
        layer.backward_batch(
            black_box(&inputs),
            &outputs,
            &upstream,
            Some(&mut grad_input),
            &mut cache,
            &mut grads,
        )
    });
    println!("{name} on {BATCH} x [{T}, {N}]: forward {forward:.1} us, backward {backward:.1} us");
}

fn main() {
    nn::set_num_threads(1);
    let mut rng = Rng::seed(0);
    time_layer::<_, 16, 64>("LayerNorm<64>", &LayerNorm::<64>::init_with(&mut rng), &mut rng);
    time_layer::<_, 16, 256>("GELU", &GELU::exact(), &mut rng);
}
