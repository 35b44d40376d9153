//! `Concat<(A, B, ..), O>`: every branch applied to the same input, outputs joined.

use crate::aligned::Buffer;
use std::marker::PhantomData;

use super::residual::add_into;
use super::{Layer, Mode, Module};
use crate::tensor::prefix_mut;
use crate::{Rng, Tensor};

/// Parallel branches whose outputs are concatenated, as `torch.cat([b(x) for b in branches], 1)`:
/// flat branches join their features, image branches their channels (in both cases one sample's
/// output is the branches' outputs one after another in memory). `O` is the joined per-sample
/// tensor, which `network!` computes; two to four branches.
///
/// In `network!` write `Concat { <chain>, <chain>, .. }`. Keys are PyTorch's for a module holding
/// `self.branches = nn.ModuleList([...])`: `branches.0.0.weight`, `branches.1.0.weight`, ...
///
/// ```
/// use nn::prelude::*;
/// network! { struct Wide: [3] => Concat { Linear<3, 2>, Linear<3, 4> -> ReLU } -> Linear<6, 1> }
/// let net = Wide::init(0);
/// let x = [1.0, 2.0, 3.0];
/// let joined: [f32; 6] = net.layer_0.forward(&x);
/// assert_eq!(joined[..2], net.layer_0.branches.0.forward(&x)[..]);
/// assert_eq!(joined[2..], net.layer_0.branches.1.forward(&x)[..]);
/// ```
pub struct Concat<Branches, O> {
    /// The branches, a tuple.
    pub branches: Branches,
    output: PhantomData<fn() -> O>,
}

impl<B: Clone, O> Clone for Concat<B, O> {
    fn clone(&self) -> Self {
        Concat::new(self.branches.clone())
    }
}

impl<B: std::fmt::Debug, O> std::fmt::Debug for Concat<B, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Concat").field("branches", &self.branches).finish()
    }
}

impl<B, O> Concat<B, O> {
    /// Joins the outputs of `branches`, a tuple of layers.
    pub fn new(branches: B) -> Self {
        Concat {
            branches,
            output: PhantomData,
        }
    }
}

/// One branch's output and its gradient, and its own cache.
pub struct BranchCache<T, C> {
    output: Buffer<T>,
    grad_output: Buffer<T>,
    inner: C,
}

impl<T, C: Default> Default for BranchCache<T, C> {
    fn default() -> Self {
        BranchCache {
            output: Buffer::new(),
            grad_output: Buffer::new(),
            inner: C::default(),
        }
    }
}

/// What a concatenation keeps between its passes: each branch's cache, and one branch's input
/// gradient before it is added to the others'.
pub struct ConcatCache<I, Caches> {
    branches: Caches,
    grad_input: Buffer<I>,
}

impl<I, Caches: Default> Default for ConcatCache<I, Caches> {
    fn default() -> Self {
        ConcatCache {
            branches: Caches::default(),
            grad_input: Buffer::new(),
        }
    }
}

/// Copies each sample of `part` (`len` values each) into its place in `joined` (`stride` values
/// per sample, this branch's values starting at `offset`).
fn copy_part(joined: &mut [f32], stride: usize, offset: usize, part: &[f32], len: usize) {
    for (sample, values) in joined.chunks_exact_mut(stride).zip(part.chunks_exact(len)) {
        sample[offset..offset + len].copy_from_slice(values);
    }
}

macro_rules! concat_impl {
    ($($branch:ident $index:tt),+) => {
        impl<$($branch: Module,)+ O: 'static> Module for Concat<($($branch,)+), O> {
            const NUM_PARAMS: usize = 0 $(+ $branch::NUM_PARAMS)+;

            fn init_with(rng: &mut Rng) -> Self {
                Concat::new(($($branch::init_with(rng),)+))
            }

            fn zeros() -> Self {
                Concat::new(($($branch::zeros(),)+))
            }

            fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
                $(self.branches.$index.visit_params(&format!("{prefix}branches.{}.", $index), visit);)+
            }

            fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
                $(self.branches.$index.visit_params_mut(&format!("{prefix}branches.{}.", $index), visit);)+
            }

            fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
                $(self.branches.$index.zip_params(&grads.branches.$index, update);)+
            }

            fn visit_counters(&self, prefix: &str, visit: &mut dyn FnMut(&str, i64)) {
                $(self.branches.$index.visit_counters(&format!("{prefix}branches.{}.", $index), visit);)+
            }

            fn visit_counters_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &mut i64)) {
                $(self.branches.$index.visit_counters_mut(&format!("{prefix}branches.{}.", $index), visit);)+
            }

            fn set_frozen(&mut self, frozen: bool) {
                $(self.branches.$index.set_frozen(frozen);)+
            }
        }

        impl<I: Tensor, O: Tensor, $($branch: Layer<I>,)+> Layer<I> for Concat<($($branch,)+), O> {
            type Output = O;
            type Cache = ConcatCache<I, ($(BranchCache<$branch::Output, $branch::Cache>,)+)>;

            // The last branch's `offset += len` is never read.
            #[allow(unused_assignments)]
            fn forward(&self, input: &I) -> O {
                const { assert!(0 $(+ <$branch::Output as Tensor>::LEN)+ == O::LEN, "`Concat`: the branches' outputs do not fill the joined tensor") };
                let mut output = O::zeros();
                let mut offset = 0;
                $(
                    let part = self.branches.$index.forward(input);
                    let len = <$branch::Output as Tensor>::LEN;
                    output.flat_mut()[offset..offset + len].copy_from_slice(part.flat());
                    offset += len;
                )+
                output
            }

            #[allow(unused_assignments)]
            fn forward_batch(&self, input: &[I], output: &mut [O], cache: &mut Self::Cache, mode: Mode) {
                let batch = input.len();
                let joined = O::flat_batch_mut(output);
                let mut offset = 0;
                $(
                    let branch = &mut cache.branches.$index;
                    let part = prefix_mut(&mut branch.output, batch);
                    self.branches.$index.forward_batch(input, part, &mut branch.inner, mode);
                    let len = <$branch::Output as Tensor>::LEN;
                    copy_part(joined, O::LEN, offset, <$branch::Output as Tensor>::flat_batch(part), len);
                    offset += len;
                )+
            }

            #[allow(unused_assignments)]
            fn backward_batch(
                &self,
                input: &[I],
                _output: &[O],
                grad_output: &[O],
                mut grad_input: Option<&mut [I]>,
                cache: &mut Self::Cache,
                grads: &mut Self,
            ) {
                let batch = input.len();
                let joined_grad = O::flat_batch(grad_output);
                let mut offset = 0;
                let mut first = true;
                $(
                    let branch = &mut cache.branches.$index;
                    let part = prefix_mut(&mut branch.grad_output, batch);
                    let len = <$branch::Output as Tensor>::LEN;
                    for (sample, values) in joined_grad.chunks_exact(O::LEN).zip(<$branch::Output as Tensor>::flat_batch_mut(part).chunks_exact_mut(len)) {
                        values.copy_from_slice(&sample[offset..offset + len]);
                    }
                    offset += len;
                    let branch_output = &branch.output[..batch];
                    match grad_input.as_deref_mut() {
                        Some(grad_input) if first => {
                            self.branches.$index.backward_batch(input, branch_output, part, Some(grad_input), &mut branch.inner, &mut grads.branches.$index);
                        }
                        Some(grad_input) => {
                            let scratch = prefix_mut(&mut cache.grad_input, batch);
                            self.branches.$index.backward_batch(input, branch_output, part, Some(&mut *scratch), &mut branch.inner, &mut grads.branches.$index);
                            add_into(I::flat_batch_mut(grad_input), I::flat_batch(scratch));
                        }
                        None => {
                            self.branches.$index.backward_batch(input, branch_output, part, None, &mut branch.inner, &mut grads.branches.$index);
                        }
                    }
                    first = false;
                )+
            }

            fn update_statistics(&mut self, cache: &Self::Cache) {
                $(self.branches.$index.update_statistics(&cache.branches.$index.inner);)+
            }

            fn check_input(&self, input: &I, sample: usize) -> crate::Result<()> {
                $(self.branches.$index.check_input(input, sample)?;)+
                Ok(())
            }
        }
    };
}

concat_impl!(A 0, B 1);
concat_impl!(A 0, B 1, C 2);
concat_impl!(A 0, B 1, C 2, D 3);
