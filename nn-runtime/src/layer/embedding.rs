//! `Embedding<VOCAB, D>`: a learned row of `D` values per token id, as `torch.nn.Embedding(VOCAB, D)`.

use super::elementwise::PARALLEL_MIN_VALUES;
use super::{Layer, Mode};
use crate::threads::split_rows;
use crate::AlignedBox;
use crate::Error;

/// A table of `VOCAB` learned vectors of `D` values, PyTorch's `nn.Embedding(VOCAB, D)`: it
/// takes a sequence of token ids `[usize; T]` and gives the sequence of their rows,
/// `[[f32; D]; T]`.
///
/// Token ids are checked where data enters ([`Layer::check_input`], called by the trainer,
/// [`evaluate`](crate::evaluate) and [`Predict`](crate::Predict)): an id of `VOCAB` or more is
/// an [`Error::TokenOutOfRange`]. [`Layer::forward`] and [`Layer::forward_batch`] never read
/// outside the table either: an id that was not checked and is out of range gives a row of
/// zeros (and no gradient), where PyTorch raises an `IndexError`.
///
/// ```
/// use nn::prelude::*;
/// let mut embedding = Embedding::<3, 2>::zeros();
/// embedding.weight[1] = [0.5, -1.0];
/// embedding.weight[2] = [2.0, 3.0];
/// assert_eq!(embedding.forward(&[2, 1, 2]), [[2.0, 3.0], [0.5, -1.0], [2.0, 3.0]]);
/// ```
#[derive(Clone, PartialEq)]
pub struct Embedding<const VOCAB: usize, const D: usize> {
    /// `weight[id]` is the vector of token `id` (PyTorch's `weight`, `[VOCAB, D]`).
    pub weight: AlignedBox<[[f32; D]; VOCAB]>,
    /// Whether training leaves the weights alone ([`Module::set_frozen`](crate::Module::set_frozen)).
    frozen: bool,
}

/// Shows the shape, not the numbers.
impl<const VOCAB: usize, const D: usize> std::fmt::Debug for Embedding<VOCAB, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedding<{VOCAB}, {D}> {{ weight: [{VOCAB}, {D}] }}")
    }
}

super::table::table_module!(Embedding);

impl<const VOCAB: usize, const D: usize> Embedding<VOCAB, D> {
    /// The rows of `ids` written into `output`; an id outside the table gives zeros.
    fn lookup<const T: usize>(&self, ids: &[usize; T], output: &mut [[f32; D]; T]) {
        for (row, &id) in output.iter_mut().zip(ids) {
            *row = self.weight.get(id).copied().unwrap_or([0.0; D]);
        }
    }
}

impl<const VOCAB: usize, const D: usize, const T: usize> Layer<[usize; T]> for Embedding<VOCAB, D> {
    type Output = [[f32; D]; T];
    type Cache = ();

    fn forward(&self, input: &[usize; T]) -> [[f32; D]; T] {
        let mut output = [[0.0; D]; T];
        self.lookup(input, &mut output);
        output
    }

    /// Split between the threads by samples, as the layers after it split their rows, so that
    /// each thread goes on with rows it wrote.
    fn forward_batch(&self, input: &[[usize; T]], output: &mut [[[f32; D]; T]], _cache: &mut (), _mode: Mode) {
        split_rows(output, 1, T * D, PARALLEL_MIN_VALUES, |first, output| {
            for (ids, out) in input[first..].iter().zip(output) {
                self.lookup(ids, out);
            }
        });
    }

    /// The first id of `input` that is `VOCAB` or more, as [`Error::TokenOutOfRange`].
    ///
    /// ```
    /// use nn::prelude::*;
    /// let embedding = Embedding::<27, 8>::init_with(&mut nn::Rng::seed(0));
    /// let error = embedding.check_input(&[0, 26, 27, 30], 5).unwrap_err();
    /// assert_eq!(error.to_string(), "sample 5: token id 27 at position 2 is outside the vocabulary of 27 tokens (0..=26)");
    /// ```
    fn check_input(&self, input: &[usize; T], sample: usize) -> crate::Result<()> {
        match input.iter().position(|&id| id >= VOCAB) {
            None => Ok(()),
            Some(position) => Err(Error::TokenOutOfRange {
                sample,
                position,
                token: input[position],
                vocab: VOCAB,
            }),
        }
    }

    /// The weight gradient is a scatter-add: row `id` of `grads.weight` is the sum of
    /// `grad_output[b][t]` over every position where `input[b][t] == id` (zero for ids that do
    /// not occur), summed in batch then position order so the result is the same bits on every
    /// run. Token ids have no gradient, so `grad_input`, if given, is left untouched.
    fn backward_batch(
        &self,
        input: &[[usize; T]],
        _output: &[[[f32; D]; T]],
        grad_output: &[[[f32; D]; T]],
        _grad_input: Option<&mut [[usize; T]]>,
        _cache: &mut (),
        grads: &mut Self,
    ) {
        // A frozen layer computes no parameter gradient: optimizers skip it anyway.
        if self.frozen {
            return;
        }
        grads.weight.as_flattened_mut().fill(0.0);
        for (ids, rows) in input.iter().zip(grad_output) {
            for (&id, row) in ids.iter().zip(rows) {
                // An unchecked id outside the table read zeros, and has no row to update.
                if let Some(target) = grads.weight.get_mut(id) {
                    for (g, &r) in target.iter_mut().zip(row) {
                        *g += r;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Module, Rng};

    #[test]
    fn out_of_range_ids_read_and_update_nothing() {
        let mut rng = Rng::seed(0);
        let embedding = Embedding::<3, 2>::init_with(&mut rng);
        let output = embedding.forward(&[5, 0]);
        assert_eq!(output, [[0.0, 0.0], embedding.weight[0]]);
        let mut grads = Embedding::<3, 2>::zeros();
        grads.weight.as_flattened_mut().fill(f32::NAN);
        let mut grad_input = [[7usize, 7]];
        embedding.backward_batch(
            &[[5, 0]],
            &[output],
            &[[[1.0, 2.0], [3.0, 4.0]]],
            Some(&mut grad_input),
            &mut (),
            &mut grads,
        );
        assert_eq!(*grads.weight, [[3.0, 4.0], [0.0, 0.0], [0.0, 0.0]]);
        assert_eq!(grad_input, [[7, 7]], "token ids have no gradient: left as they were");
    }

    #[test]
    fn repeated_ids_accumulate() {
        let embedding = Embedding::<2, 1>::zeros();
        let mut grads = Embedding::<2, 1>::zeros();
        let grad_output = [[[1.0], [2.0], [4.0]], [[8.0], [16.0], [32.0]]];
        let input = [[1, 1, 0], [1, 0, 0]];
        let output = [[[0.0]; 3]; 2];
        embedding.backward_batch(&input, &output, &grad_output, None, &mut (), &mut grads);
        assert_eq!(*grads.weight, [[4.0 + 16.0 + 32.0], [1.0 + 2.0 + 8.0]]);
    }
}
