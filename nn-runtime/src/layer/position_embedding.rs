//! `PositionEmbedding<P, D>`: a learned vector per position, added to a sequence `[[f32; D]; T]`.

use super::elementwise::PARALLEL_MIN_VALUES;
use super::{Layer, Mode};
use crate::threads::split_rows;

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
    pub weight: Box<[[f32; D]; P]>,
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

impl<const P: usize, const D: usize, const T: usize> Layer<[[f32; D]; T]> for PositionEmbedding<P, D> {
    type Output = [[f32; D]; T];
    type Cache = ();

    fn forward(&self, input: &[[f32; D]; T]) -> [[f32; D]; T] {
        const { Self::fits::<T>() };
        let mut output = [[0.0; D]; T];
        self.add_rows(input, &mut output);
        output
    }

    /// Split between the threads by samples, as the layers around it split their rows.
    fn forward_batch(&self, input: &[[[f32; D]; T]], output: &mut [[[f32; D]; T]], _cache: &mut (), _mode: Mode) {
        const { Self::fits::<T>() };
        split_rows(output, 1, T * D, PARALLEL_MIN_VALUES, |first, output| {
            for (x, y) in input[first..].iter().zip(output) {
                self.add_rows(x, y);
            }
        });
    }

    /// `grads.weight[t]` is the sum over the batch of `grad_output[b][t]` (batch order, so the
    /// same bits on every run; rows `T..P` are zero), and the input's gradient is `grad_output`.
    fn backward_batch(
        &self,
        _input: &[[[f32; D]; T]],
        _output: &[[[f32; D]; T]],
        grad_output: &[[[f32; D]; T]],
        grad_input: Option<&mut [[[f32; D]; T]]>,
        _cache: &mut (),
        grads: &mut Self,
    ) {
        const { Self::fits::<T>() };
        if let Some(grad_input) = grad_input {
            grad_input.copy_from_slice(grad_output);
        }
        // A frozen layer computes no parameter gradient: optimizers skip it anyway.
        if self.frozen {
            return;
        }
        grads.weight.as_flattened_mut().fill(0.0);
        for sample in grad_output {
            for (sum, row) in grads.weight.iter_mut().zip(sample) {
                for (s, &g) in sum.iter_mut().zip(row) {
                    *s += g;
                }
            }
        }
    }
}
