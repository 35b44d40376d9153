//! `BatchNorm2d<C>`: normalises each of `C` channels of `[C, H, W]` images over the batch and
//! the pixels, as `torch.nn.BatchNorm2d(C)`.

use super::batch_norm::{batch_norm_layer_methods, batch_norm_type};
use super::{Layer, Mode, Module};
use crate::Tensor;

batch_norm_type!(
    /// Batch normalization of the `C` channels of `[C, H, W]` images (any `H` and `W`),
    /// PyTorch's `nn.BatchNorm2d(C)`: `(x - mean) / sqrt(var + 1e-5) * weight + bias` per
    /// channel, the statistics taken over the batch and every pixel.
    ///
    /// Training ([`Mode::Train`]) normalises with the batch's mean and biased variance, and the
    /// trainer then folds them into `running_mean` and `running_var` (momentum 0.1, unbiased
    /// variance; [`Layer::update_statistics`]); evaluation ([`Mode::Eval`]) and the
    /// single-sample [`Layer::forward`] use the running statistics. Saved as PyTorch saves it:
    /// `weight`, `bias`, `running_mean`, `running_var`, and `num_batches_tracked` (I64).
    ///
    /// ```
    /// use nn::prelude::*;
    /// use nn::Mode;
    /// let norm = BatchNorm2d::<1>::init_with(&mut nn::Rng::seed(0));
    /// // One 1x2 image per sample, two samples: mean 2.5, biased variance 1.25.
    /// let images = [[[[1.0, 2.0]]], [[[3.0, 4.0]]]];
    /// let mut output = [[[[0.0; 2]; 1]; 1]; 2];
    /// norm.forward_batch(&images, &mut output, &mut Default::default(), Mode::Train);
    /// let expected = -1.5 / (1.25f32 + 1e-5).sqrt();
    /// assert!((output[0][0][0][0] - expected).abs() < 1e-6);
    /// ```
    BatchNorm2d
);

impl<const C: usize, const H: usize, const W: usize> Layer<[[[f32; W]; H]; C]> for BatchNorm2d<C> {
    batch_norm_layer_methods!([[[f32; W]; H]; C], H * W);
}
