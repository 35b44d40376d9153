//! The [`Module`](super::Module) of a layer that is one table of learned rows, `weight`
//! `[ROWS, D]` drawn from N(0, 1) as PyTorch's `nn.Embedding`: `Embedding` and
//! `PositionEmbedding` differ only in how they read it.

/// Implements `Module` for `$layer<ROWS, D>`, a struct with the fields
/// `weight: AlignedBox<[[f32; D]; ROWS]>` and `frozen: bool`.
macro_rules! table_module {
    ($layer:ident) => {
        impl<const ROWS: usize, const D: usize> $crate::layer::Module for $layer<ROWS, D> {
            const NUM_PARAMS: usize = ROWS * D;

            /// PyTorch's `nn.Embedding` init: every weight drawn from the standard normal
            /// distribution N(0, 1) ([`Rng::normal`](crate::Rng::normal)), row by row.
            fn init_with(rng: &mut $crate::Rng) -> Self {
                let mut layer = <Self as $crate::layer::Module>::zeros();
                layer
                    .weight
                    .as_flattened_mut()
                    .iter_mut()
                    .for_each(|w| *w = rng.normal(0.0, 1.0));
                layer
            }

            fn zeros() -> Self {
                $layer {
                    weight: $crate::AlignedBox::zeros(),
                    frozen: false,
                }
            }

            fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
                visit(&format!("{prefix}weight"), &[ROWS, D], self.weight.as_flattened());
            }

            fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
                visit(
                    &format!("{prefix}weight"),
                    &[ROWS, D],
                    self.weight.as_flattened_mut(),
                );
            }

            fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
                if self.frozen {
                    return;
                }
                update(self.weight.as_flattened_mut(), grads.weight.as_flattened());
            }

            fn set_frozen(&mut self, frozen: bool) {
                self.frozen = frozen;
            }
        }
    };
}
pub(crate) use table_module;
