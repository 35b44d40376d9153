//! `Residual<Body, Shortcut>`: `body(x) + shortcut(x)`, the skip connection of a ResNet block.

use super::elementwise::{PARALLEL_ALIGN, PARALLEL_MIN_VALUES};
use super::{Identity, Layer, Mode, Module};
use crate::aligned::Buffer;
use crate::tensor::prefix_mut;
use crate::threads::split_rows;
use crate::{Rng, Tensor};

/// A residual block: the output of `body` added to the output of `shortcut` (by default
/// [`Identity`], so `x + body(x)`), as the `Residual` module of a PyTorch ResNet.
///
/// In `network!` write `Residual { <chain> }` or `Residual { <chain>, shortcut: <chain> }`; the
/// macro checks that the paths meet in one shape and names its parts. Keys are PyTorch's for a
/// module holding `self.body` and `self.shortcut`: `body.0.weight`, `shortcut.0.weight`.
///
/// ```
/// use nn::prelude::*;
/// network! { struct Block: [4] => Residual { Linear<4, 4> -> ReLU -> Linear<4, 4> } }
/// let net = Block::init(0);
/// let x = [1.0, 2.0, 3.0, 4.0];
/// let body = net.layer_0.body.forward(&x);
/// let y = net.forward(&x);
/// assert_eq!(y, std::array::from_fn(|i| x[i] + body[i]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Residual<Body, Shortcut = Identity> {
    /// The main path.
    pub body: Body,
    /// The path added to the body's output.
    pub shortcut: Shortcut,
}

impl<B: Module, S: Module> Module for Residual<B, S> {
    const NUM_PARAMS: usize = B::NUM_PARAMS + S::NUM_PARAMS;

    fn init_with(rng: &mut Rng) -> Self {
        let body = B::init_with(rng);
        Residual {
            body,
            shortcut: S::init_with(rng),
        }
    }

    fn zeros() -> Self {
        Residual {
            body: B::zeros(),
            shortcut: S::zeros(),
        }
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
        self.body.visit_params(&format!("{prefix}body."), visit);
        self.shortcut.visit_params(&format!("{prefix}shortcut."), visit);
    }

    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
        self.body.visit_params_mut(&format!("{prefix}body."), visit);
        self.shortcut.visit_params_mut(&format!("{prefix}shortcut."), visit);
    }

    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
        self.body.zip_params(&grads.body, update);
        self.shortcut.zip_params(&grads.shortcut, update);
    }

    fn visit_counters(&self, prefix: &str, visit: &mut dyn FnMut(&str, i64)) {
        self.body.visit_counters(&format!("{prefix}body."), visit);
        self.shortcut.visit_counters(&format!("{prefix}shortcut."), visit);
    }

    fn visit_counters_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &mut i64)) {
        self.body.visit_counters_mut(&format!("{prefix}body."), visit);
        self.shortcut.visit_counters_mut(&format!("{prefix}shortcut."), visit);
    }

    fn set_frozen(&mut self, frozen: bool) {
        self.body.set_frozen(frozen);
        self.shortcut.set_frozen(frozen);
    }
}

/// What a residual block keeps between its passes: each path's output (their backward passes
/// need them) and caches, and the shortcut's input gradient before it is added.
pub struct ResidualCache<I, O, BodyCache, ShortcutCache> {
    body_output: Buffer<O>,
    shortcut_output: Buffer<O>,
    shortcut_grad_input: Buffer<I>,
    body: BodyCache,
    shortcut: ShortcutCache,
}

impl<I, O, B: Default, S: Default> Default for ResidualCache<I, O, B, S> {
    fn default() -> Self {
        ResidualCache {
            body_output: Buffer::new(),
            shortcut_output: Buffer::new(),
            shortcut_grad_input: Buffer::new(),
            body: B::default(),
            shortcut: S::default(),
        }
    }
}

impl<I: Tensor, B: Layer<I>, S: Layer<I, Output = B::Output>> Layer<I> for Residual<B, S> {
    type Output = B::Output;
    type Cache = ResidualCache<I, B::Output, B::Cache, S::Cache>;

    fn forward(&self, input: &I) -> B::Output {
        let mut output = self.body.forward(input);
        let shortcut = self.shortcut.forward(input);
        add_into(output.flat_mut(), shortcut.flat());
        output
    }

    fn forward_batch(&self, input: &[I], output: &mut [B::Output], cache: &mut Self::Cache, mode: Mode) {
        let batch = input.len();
        let body_output = prefix_mut(&mut cache.body_output, batch);
        self.body.forward_batch(input, body_output, &mut cache.body, mode);
        let sums = B::Output::flat_batch_mut(output);
        let body_output = B::Output::flat_batch(body_output);
        if is_identity::<S>() {
            // `x + body(x)` straight from the input: no copy of it through `Identity`.
            add(sums, body_output, I::flat_batch(input));
            return;
        }
        let shortcut_output = prefix_mut(&mut cache.shortcut_output, batch);
        self.shortcut
            .forward_batch(input, shortcut_output, &mut cache.shortcut, mode);
        add(sums, body_output, B::Output::flat_batch(shortcut_output));
    }

    fn backward_batch(
        &self,
        input: &[I],
        _output: &[B::Output],
        grad_output: &[B::Output],
        grad_input: Option<&mut [I]>,
        cache: &mut Self::Cache,
        grads: &mut Self,
    ) {
        let batch = input.len();
        let ResidualCache {
            body_output,
            shortcut_output,
            shortcut_grad_input,
            body,
            shortcut,
        } = cache;
        // `shortcut_output` stays empty for `Identity`.
        let (body_output, shortcut_output) = (
            &body_output[..batch],
            &shortcut_output[..batch.min(shortcut_output.len())],
        );
        // Both paths receive the output's gradient; their input gradients add up.
        match grad_input {
            Some(grad_input) => {
                self.body.backward_batch(
                    input,
                    body_output,
                    grad_output,
                    Some(&mut *grad_input),
                    body,
                    &mut grads.body,
                );
                if is_identity::<S>() {
                    // The identity's input gradient is the output's: added as it is.
                    add_into(I::flat_batch_mut(grad_input), B::Output::flat_batch(grad_output));
                    return;
                }
                let shortcut_grad = prefix_mut(shortcut_grad_input, batch);
                self.shortcut.backward_batch(
                    input,
                    shortcut_output,
                    grad_output,
                    Some(&mut *shortcut_grad),
                    shortcut,
                    &mut grads.shortcut,
                );
                add_into(I::flat_batch_mut(grad_input), I::flat_batch(shortcut_grad));
            }
            None => {
                self.body
                    .backward_batch(input, body_output, grad_output, None, body, &mut grads.body);
                if is_identity::<S>() {
                    return;
                }
                self.shortcut
                    .backward_batch(input, shortcut_output, grad_output, None, shortcut, &mut grads.shortcut);
            }
        }
    }

    fn update_statistics(&mut self, cache: &Self::Cache) {
        self.body.update_statistics(&cache.body);
        self.shortcut.update_statistics(&cache.shortcut);
    }

    fn check_input(&self, input: &I, sample: usize) -> crate::Result<()> {
        self.body.check_input(input, sample)?;
        self.shortcut.check_input(input, sample)
    }
}

/// `sum[i] += term[i]`.
pub(crate) fn add_into(sum: &mut [f32], term: &[f32]) {
    assert_eq!(sum.len(), term.len(), "add_into: lengths differ");
    split_rows(sum, PARALLEL_ALIGN, 2, PARALLEL_MIN_VALUES, |first, sum| {
        for (sum, &term) in sum.iter_mut().zip(&term[first..]) {
            *sum += term;
        }
    });
}

/// `sum = a + b`, value by value, on several threads for large batches.
fn add(sum: &mut [f32], a: &[f32], b: &[f32]) {
    assert!(sum.len() == a.len() && sum.len() == b.len(), "add: lengths differ");
    split_rows(sum, PARALLEL_ALIGN, 2, PARALLEL_MIN_VALUES, |first, sum| {
        for (sum, (&a, &b)) in sum.iter_mut().zip(a[first..].iter().zip(&b[first..])) {
            *sum = a + b;
        }
    });
}

/// Whether the shortcut is [`Identity`], whose forward and backward passes are copies that
/// [`Residual`] skips.
fn is_identity<S: 'static>() -> bool {
    std::any::TypeId::of::<S>() == std::any::TypeId::of::<Identity>()
}
