//! `Dropout(p)`: zeroes each value with probability `p` while training, as `torch.nn.Dropout(p)`.

use super::{Layer, Mode, Module};
use crate::{Rng, Tensor};

/// Inverted dropout, PyTorch's `nn.Dropout(p)`: while training, each value is zeroed with
/// probability `p` and the others are scaled by `1 / (1 - p)`, so evaluation (which passes
/// values through unchanged) sees the same expected values. In `network!` write `Dropout(0.5)`.
///
/// The masks come from a generator seeded when the network is initialised, so training with the
/// same seeds gives the same masks, and so the same weights.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Net: [4] => Linear<4, 4> -> Dropout(0.25) -> Linear<4, 2> }
/// let net = Net::init(0);
/// // One sample at a time is inference: dropout passes values through.
/// assert_eq!(net.layer_1.p(), 0.25);
/// assert_eq!(Dropout::new(0.25).forward(&[1.0, 2.0]), [1.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    p: f32,
    seed: u64,
}

impl Dropout {
    /// Dropout with probability `p`, clamped into `[0, 1)` (`network!` rejects a literal outside it).
    pub fn new(p: f32) -> Self {
        Dropout {
            p: clamp_probability(p),
            seed: 0,
        }
    }

    /// Dropout with probability `p` whose masks are seeded from `rng` (what `network!`'s
    /// `init(seed)` uses).
    pub fn init_with(rng: &mut Rng, p: f32) -> Self {
        Dropout {
            p: clamp_probability(p),
            seed: rng.next_u64(),
        }
    }

    /// The probability of zeroing a value.
    pub fn p(&self) -> f32 {
        self.p
    }
}

fn clamp_probability(p: f32) -> f32 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0 - f32::EPSILON)
    }
}

/// The masks of the last training pass (`0` or `1 / (1 - p)` per value) and their generator.
#[derive(Debug, Clone, Default)]
pub struct DropoutCache {
    mask: Vec<f32>,
    rng: Option<Rng>,
    training: bool,
}

impl Module for Dropout {
    const NUM_PARAMS: usize = 0;

    /// `p = 0.5`, PyTorch's default.
    fn init_with(rng: &mut Rng) -> Self {
        Dropout::init_with(rng, 0.5)
    }

    fn zeros() -> Self {
        Dropout::new(0.5)
    }

    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}

    fn visit_params_mut(&mut self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {}

    fn zip_params(&mut self, _grads: &Self, _update: &mut dyn FnMut(&mut [f32], &[f32])) {}
}

impl<T: Tensor> Layer<T> for Dropout {
    type Output = T;
    type Cache = DropoutCache;

    fn forward(&self, input: &T) -> T {
        *input
    }

    fn forward_batch(&self, input: &[T], output: &mut [T], cache: &mut DropoutCache, mode: Mode) {
        let (inputs, outputs) = (T::flat_batch(input), T::flat_batch_mut(output));
        cache.training = mode == Mode::Train && self.p > 0.0;
        if !cache.training {
            outputs.copy_from_slice(inputs);
            return;
        }
        let rng = cache.rng.get_or_insert_with(|| Rng::seed(self.seed));
        if cache.mask.len() < inputs.len() {
            cache.mask.resize(inputs.len(), 0.0);
        }
        let scale = 1.0 / (1.0 - self.p);
        for ((out, &x), mask) in outputs.iter_mut().zip(inputs).zip(&mut cache.mask) {
            *mask = if rng.unit() < self.p { 0.0 } else { scale };
            *out = x * *mask;
        }
    }

    fn backward_batch(
        &self,
        _input: &[T],
        _output: &[T],
        grad_output: &[T],
        grad_input: Option<&mut [T]>,
        cache: &mut DropoutCache,
        _grads: &mut Self,
    ) {
        let Some(grad_input) = grad_input else { return };
        let (grads_in, grads_out) = (T::flat_batch_mut(grad_input), T::flat_batch(grad_output));
        if !cache.training {
            grads_in.copy_from_slice(grads_out);
            return;
        }
        for ((grad_in, &grad_out), &mask) in grads_in.iter_mut().zip(grads_out).zip(&cache.mask) {
            *grad_in = grad_out * mask;
        }
    }
}
