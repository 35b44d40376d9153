//! The layers of the words transformer on its shapes, a batch of 64 sequences of 16 positions
//! (`LayerNorm<64>`, `GELU` exact and tanh on the `[16, 256]` hidden rows, the per-position
//! `Linear`s of the MLP): microseconds per forward and backward pass (input gradient included),
//! on 1 thread (the fastest of 200 rounds), and for the `Linear`s GFLOP/s.
//!
//! ```sh
//! cargo bench -p nn-bench --bench layers
//! ```

mod best;

use best::Passes;

use nn::prelude::*;
use nn::Rng;

const BATCH: usize = 64;

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
    let (forward, backward) = Passes::new(&inputs).time(layer, &inputs, &upstream);
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
    time_layer::<_, 16, 256, 256>("GELU (tanh)", &GELU::tanh(), &mut rng, None);
    let up = Linear::<64, 256>::init_with(&mut rng);
    time_layer::<_, 16, 64, 256>("Linear<64, 256>", &up, &mut rng, Some(2 * 64 * 256));
    let down = Linear::<256, 64>::init_with(&mut rng);
    time_layer::<_, 16, 256, 64>("Linear<256, 64>", &down, &mut rng, Some(2 * 256 * 64));
    let square = Linear::<64, 64>::init_with(&mut rng);
    time_layer::<_, 16, 64, 64>("Linear<64, 64>", &square, &mut rng, Some(2 * 64 * 64));
}
