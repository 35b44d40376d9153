//! `PositionEmbedding<P, D>`: a learned vector per position, added to a sequence `[[f32; D]; T]`.

use super::elementwise::PARALLEL_MIN_VALUES;
use super::{Layer, Mode};
use crate::threads::{split_row_groups, split_rows};
use crate::AlignedBox;

/// A table of `P` learned vectors of `D` values, one per position, added to a sequence of
/// `T <= P` rows: `y[t] = x[t] + weight[t]`. This is the reference model's
/// `h = tok(x) + pos(torch.arange(T))`, with `pos = nn.Embedding(P, D)`: the same key `weight`,
/// shape `[P, D]`, and initialisation N(0, 1). A sequence shorter than the table uses its first
/// `T` rows; a longer one does not compile.
///
/// ```
/// use nn::prelude::*;
/// let mut positions = PositionEmbedding::<4, 2>::zeros();
/// positions.weight[0] = [1.0, 2.0];
/// positions.weight[1] = [10.0, 20.0];
/// let y = positions.forward(&[[0.5, 0.5], [0.0, 1.0]]);
/// assert_eq!(y, [[1.5, 2.5], [10.0, 21.0]]);
/// ```
///
/// A sequence of 5 positions does not fit a table of 4: "PositionEmbedding<P, D> has P
/// positions but its input sequence is longer".
///
/// ```compile_fail
/// use nn::prelude::*;
/// let positions = PositionEmbedding::<4, 2>::zeros();
/// let y = positions.forward(&[[0.0; 2]; 5]);
/// ```
#[derive(Clone, PartialEq)]
pub struct PositionEmbedding<const P: usize, const D: usize> {
    /// `weight[t]` is added to row `t` of the input (PyTorch's `weight`, `[P, D]`).
    pub weight: AlignedBox<[[f32; D]; P]>,
    /// Whether training leaves the weights alone ([`Module::set_frozen`](crate::Module::set_frozen)).
    frozen: bool,
}

/// Shows the shape, not the numbers.
impl<const P: usize, const D: usize> std::fmt::Debug for PositionEmbedding<P, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PositionEmbedding<{P}, {D}> {{ weight: [{P}, {D}] }}")
    }
}

super::table::table_module!(PositionEmbedding);

impl<const P: usize, const D: usize> PositionEmbedding<P, D> {
    /// Stops a sequence longer than the table at compile time. `network!` reports it at the
    /// number first; this catches what the macro cannot see (a const parameter, a custom layer).
    const fn fits<const T: usize>() {
        assert!(
            T <= P,
            "PositionEmbedding<P, D> has P positions but its input sequence is longer: make P at least the sequence length T"
        );
    }

    fn add_rows<const T: usize>(&self, input: &[[f32; D]; T], output: &mut [[f32; D]; T]) {
        for ((y, x), p) in output.iter_mut().zip(input).zip(self.weight.iter()) {
            for ((y, &x), &p) in y.iter_mut().zip(x).zip(p) {
                *y = x + p;
            }
        }
    }
}

/// Samples whose weight-gradient terms are summed together before the groups are added.
const GROUP_SAMPLES: usize = 16;

/// `sums += values`.
fn add_into(sums: &mut [f32], values: &[f32]) {
    for (sum, value) in sums.iter_mut().zip(values) {
        *sum += value;
    }
}

impl<const P: usize, const D: usize, const T: usize> Layer<[[f32; D]; T]> for PositionEmbedding<P, D> {
    type Output = [[f32; D]; T];
    /// The groups' sums of the weight gradient (see [`Layer::backward_batch`]).
    type Cache = Vec<f32>;

    fn forward(&self, input: &[[f32; D]; T]) -> [[f32; D]; T] {
        const { Self::fits::<T>() };
        let mut output = [[0.0; D]; T];
        self.add_rows(input, &mut output);
        output
    }

    /// Split between the threads by samples, as the layers around it split their rows.
    fn forward_batch(&self, input: &[[[f32; D]; T]], output: &mut [[[f32; D]; T]], _cache: &mut Vec<f32>, _mode: Mode) {
        const { Self::fits::<T>() };
        split_rows(output, 1, T * D, PARALLEL_MIN_VALUES, |first, output| {
            for (x, y) in input[first..].iter().zip(output) {
                self.add_rows(x, y);
            }
        });
    }

    /// `grads.weight[t]` is the sum over the batch of `grad_output[b][t]` (rows `T..P` are
    /// zero), and the input's gradient is `grad_output`. Both are split between the threads by
    /// groups of 16 samples, each group summed on its own and the groups added in order, so the
    /// result is the same bits for any thread count.
    fn backward_batch(
        &self,
        _input: &[[[f32; D]; T]],
        _output: &[[[f32; D]; T]],
        grad_output: &[[[f32; D]; T]],
        grad_input: Option<&mut [[[f32; D]; T]]>,
        cache: &mut Vec<f32>,
        grads: &mut Self,
    ) {
        const { Self::fits::<T>() };
        // A frozen layer computes no parameter gradient: optimizers skip it anyway.
        let sums_per_group = if self.frozen { 0 } else { T * D };
        // `resize` allocates only when the batch grows past every earlier one.
        cache.resize(grad_output.len().div_ceil(GROUP_SAMPLES) * sums_per_group, 0.0);
        let task = |first: usize, samples: usize, grad_input: &mut [[[f32; D]; T]], sums: &mut [f32]| {
            let grad_output = &grad_output[first..first + samples];
            if !grad_input.is_empty() {
                grad_input.copy_from_slice(grad_output);
            }
            sums.fill(0.0);
            for (sums, group) in sums
                .chunks_exact_mut((T * D).max(1))
                .zip(grad_output.chunks(GROUP_SAMPLES))
            {
                for sample in group {
                    add_into(sums, sample.as_flattened());
                }
            }
        };
        match grad_input {
            Some(grad_input) => {
                split_row_groups(
                    grad_input,
                    GROUP_SAMPLES,
                    cache,
                    sums_per_group,
                    2 * T * D,
                    PARALLEL_MIN_VALUES,
                    |first, grad_input, sums| task(first, grad_input.len(), grad_input, sums),
                );
            }
            None if !self.frozen => {
                // Zero-sized rows stand for the samples (a `Vec` of `()` allocates nothing).
                let mut samples = vec![(); grad_output.len()];
                split_row_groups(
                    &mut samples,
                    GROUP_SAMPLES,
                    cache,
                    sums_per_group,
                    T * D,
                    PARALLEL_MIN_VALUES,
                    |first, samples, sums| task(first, samples.len(), &mut [], sums),
                );
            }
            None => {}
        }
        if self.frozen {
            return;
        }
        grads.weight.as_flattened_mut().fill(0.0);
        for group in cache.chunks_exact((T * D).max(1)) {
            add_into(grads.weight[..T].as_flattened_mut(), group);
        }
    }
}
