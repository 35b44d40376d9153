//! The layers of the words transformer on its shapes, a batch of 64 sequences of 16 positions
//! (`LayerNorm<64>`, `GELU` on the `[16, 256]` hidden rows, the per-position `Linear`s of the
//! MLP): microseconds per forward and backward pass (input gradient included), on 1 thread (the
//! fastest of 200 rounds), and for the `Linear`s GFLOP/s.
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

/// Forward and backward microseconds of `layer` on random sequences of `[T, IN]`, and GFLOP/s
/// when `flops_per_position` (of a forward pass) is given.
fn time_layer<L, const T: usize, const IN: usize, const OUT: usize>(
    name: &str,
    layer: &L,
    rng: &mut Rng,
    flops_per_position: Option<usize>,
) where
    L: Layer<[[f32; IN]; T], Output = [[f32; OUT]; T]> + Module,
{
    fn random<const T: usize, const N: usize>(rng: &mut Rng) -> Vec<[[f32; N]; T]> {
        (0..BATCH)
            .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-2.0, 2.0))))
            .collect()
    }
    let inputs = random::<T, IN>(rng);
    let upstream = random::<T, OUT>(rng);
    let mut outputs = upstream.clone();
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
    let rate = |flops: usize, us: f64| flops as f64 * (BATCH * T) as f64 / us / 1e3;
    let rates = flops_per_position.map_or(String::new(), |flops| {
        format!(
            " ({:.0} and {:.0} GFLOP/s)",
            rate(flops, forward),
            rate(2 * flops, backward)
        )
    });
    println!("{name} on {BATCH} x [{T}, {IN}]: forward {forward:.1} us, backward {backward:.1} us{rates}");
}

fn main() {
    nn::set_num_threads(1);
    let mut rng = Rng::seed(0);
    time_layer::<_, 16, 64, 64>("LayerNorm<64>", &LayerNorm::<64>::init_with(&mut rng), &mut rng, None);
    time_layer::<_, 16, 256, 256>("GELU", &GELU::exact(), &mut rng, None);
    let up = Linear::<64, 256>::init_with(&mut rng);
    time_layer::<_, 16, 64, 256>("Linear<64, 256>", &up, &mut rng, Some(2 * 64 * 256));
    let down = Linear::<256, 64>::init_with(&mut rng);
    time_layer::<_, 16, 256, 64>("Linear<256, 64>", &down, &mut rng, Some(2 * 256 * 64));
    let square = Linear::<64, 64>::init_with(&mut rng);
    time_layer::<_, 16, 64, 64>("Linear<64, 64>", &square, &mut rng, Some(2 * 64 * 64));
}
