//! `Seq<A, B>`: two layers in a row, written by hand as `network!` generates a chain, including
//! what the macro is being taught to forward (counters, running statistics), so the tests of
//! batch norm inside a network do not depend on the macro's version. Keys are PyTorch's
//! `nn.Sequential(A, B)` ones: `0.` and `1.`.

use nn::{Layer, Mode, Module, Rng, Tensor};
use nn_runtime::{prefix_mut, Buffer};

#[derive(Clone, Debug)]
pub struct Seq<A, B> {
    pub first: A,
    pub second: B,
}

/// The activations between the two layers and their gradient, and each layer's own cache.
pub struct SeqCache<O, CA, CB> {
    between: Buffer<O>,
    grad_between: Buffer<O>,
    first: CA,
    second: CB,
}

// By hand: a derive would require `O: Default`, which arrays of more than 32 values are not.
impl<O, CA: Default, CB: Default> Default for SeqCache<O, CA, CB> {
    fn default() -> Self {
        SeqCache {
            between: Buffer::new(),
            grad_between: Buffer::new(),
            first: CA::default(),
            second: CB::default(),
        }
    }
}

impl<A: Module, B: Module> Module for Seq<A, B> {
    const NUM_PARAMS: usize = A::NUM_PARAMS + B::NUM_PARAMS;

    fn init_with(rng: &mut Rng) -> Self {
        let first = A::init_with(rng);
        Seq {
            first,
            second: B::init_with(rng),
        }
    }

    fn zeros() -> Self {
        Seq {
            first: A::zeros(),
            second: B::zeros(),
        }
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
        self.first.visit_params(&format!("{prefix}0."), visit);
        self.second.visit_params(&format!("{prefix}1."), visit);
    }

    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
        self.first.visit_params_mut(&format!("{prefix}0."), visit);
        self.second.visit_params_mut(&format!("{prefix}1."), visit);
    }

    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
        self.first.zip_params(&grads.first, update);
        self.second.zip_params(&grads.second, update);
    }

    fn set_frozen(&mut self, frozen: bool) {
        self.first.set_frozen(frozen);
        self.second.set_frozen(frozen);
    }

    fn visit_counters(&self, prefix: &str, visit: &mut dyn FnMut(&str, i64)) {
        self.first.visit_counters(&format!("{prefix}0."), visit);
        self.second.visit_counters(&format!("{prefix}1."), visit);
    }

    fn visit_counters_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &mut i64)) {
        self.first.visit_counters_mut(&format!("{prefix}0."), visit);
        self.second.visit_counters_mut(&format!("{prefix}1."), visit);
    }
}

impl<I: Tensor, A: Layer<I>, B: Layer<A::Output>> Layer<I> for Seq<A, B> {
    type Output = B::Output;
    type Cache = SeqCache<A::Output, A::Cache, B::Cache>;

    fn forward(&self, input: &I) -> B::Output {
        self.second.forward(&self.first.forward(input))
    }

    fn forward_batch(&self, input: &[I], output: &mut [B::Output], cache: &mut Self::Cache, mode: Mode) {
        let between = prefix_mut(&mut cache.between, input.len());
        self.first.forward_batch(input, between, &mut cache.first, mode);
        self.second.forward_batch(between, output, &mut cache.second, mode);
    }

    fn update_statistics(&mut self, cache: &Self::Cache) {
        self.first.update_statistics(&cache.first);
        self.second.update_statistics(&cache.second);
    }

    fn backward_batch(
        &self,
        input: &[I],
        output: &[B::Output],
        grad_output: &[B::Output],
        grad_input: Option<&mut [I]>,
        cache: &mut Self::Cache,
        grads: &mut Self,
    ) {
        let batch = input.len();
        let grad_between = prefix_mut(&mut cache.grad_between, batch);
        let between = &cache.between[..batch];
        self.second.backward_batch(
            between,
            output,
            grad_output,
            Some(grad_between),
            &mut cache.second,
            &mut grads.second,
        );
        self.first.backward_batch(
            input,
            between,
            grad_between,
            grad_input,
            &mut cache.first,
            &mut grads.first,
        );
    }
}
