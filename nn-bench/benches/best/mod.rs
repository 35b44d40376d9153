//! Timing shared by the microsecond benches (`attention`, `layers`).

use std::time::Instant;

use nn::{Layer, Module, Tensor};

/// The fastest of 200 rounds of 5 calls of `f`, in microseconds per call, after a warm-up
/// round: on a machine shared with other work the fastest round is the one nothing preempted,
/// where a median measures the other work too.
pub fn best_us(mut f: impl FnMut()) -> f64 {
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

/// The buffers of one layer's batched passes: its outputs, input gradient, parameter gradients
/// and cache.
pub struct Passes<I: Tensor, L: Layer<I>> {
    pub outputs: Vec<L::Output>,
    pub grad_input: Vec<I>,
    pub grads: L,
    pub cache: L::Cache,
}

impl<I: Tensor, L: Layer<I> + Module> Passes<I, L> {
    /// Buffers for batches of `inputs.len()`.
    pub fn new(inputs: &[I]) -> Self {
        Passes {
            outputs: vec![<L::Output as Tensor>::zeros(); inputs.len()],
            grad_input: inputs.to_vec(),
            grads: L::zeros(),
            cache: Default::default(),
        }
    }

    /// [`best_us`] of `layer`'s forward pass and of its backward pass (the input gradient
    /// included), on `inputs` with `upstream` as the output gradient.
    pub fn time(&mut self, layer: &L, inputs: &[I], upstream: &[L::Output]) -> (f64, f64) {
        use std::hint::black_box;
        let forward =
            best_us(|| layer.forward_batch(black_box(inputs), &mut self.outputs, &mut self.cache, nn::Mode::Train));
        let backward = best_us(|| {
            layer.backward_batch(
                black_box(inputs),
                &self.outputs,
                upstream,
                Some(&mut self.grad_input),
                &mut self.cache,
                &mut self.grads,
            )
        });
        (forward, backward)
    }
}
