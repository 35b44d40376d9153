//! `BatchNorm1d<N>`: normalises each of `N` features over the batch, as `torch.nn.BatchNorm1d(N)`.

use super::batch_norm::{batch_norm_layer_methods, batch_norm_type};
use super::{Layer, Mode, Module};
use crate::Tensor;

batch_norm_type!(
    /// Batch normalization of `N` features, PyTorch's `nn.BatchNorm1d(N)` on a batch of `[N]`
    /// samples: `(x - mean) / sqrt(var + 1e-5) * weight + bias` per feature.
    ///
    /// Training ([`Mode::Train`]) normalises with the batch's mean and biased variance, and the
    /// trainer then folds them into `running_mean` and `running_var` (momentum 0.1, unbiased
    /// variance; [`Layer::update_statistics`]); evaluation ([`Mode::Eval`]) and the
    /// single-sample [`Layer::forward`] use the running statistics. Saved as PyTorch saves it:
    /// `weight`, `bias`, `running_mean`, `running_var`, and `num_batches_tracked` (I64).
    ///
    /// ```
    /// use nn::prelude::*;
    /// let mut norm = BatchNorm1d::<2>::init_with(&mut nn::Rng::seed(0));
    /// norm.running_mean[0] = 1.0;
    /// norm.running_var[1] = 4.0 - 1e-5;
    /// let y = norm.forward(&[3.0, 2.0]); // (3 - 1) / 1 and (2 - 0) / 2
    /// assert!((y[0] - 2.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-6);
    /// assert_eq!(BatchNorm1d::<2>::NUM_PARAMS, 4);
    /// ```
    BatchNorm1d
);

impl<const C: usize> Layer<[f32; C]> for BatchNorm1d<C> {
    batch_norm_layer_methods!([f32; C], 1);
}
