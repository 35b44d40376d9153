// A custom layer taking `[f32; 4]` placed after a layer giving `[f32; 3]`.
use nn::prelude::*;

/// Doubles its 4 inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct MyLayer;

impl Module for MyLayer {
    const NUM_PARAMS: usize = 0;
    fn init_with(_rng: &mut nn::Rng) -> Self {
        MyLayer
    }
    fn zeros() -> Self {
        MyLayer
    }
    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}
    fn visit_params_mut(&mut self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {}
    fn zip_params(&mut self, _grads: &Self, _update: &mut dyn FnMut(&mut [f32], &[f32])) {}
}

impl Layer<[f32; 4]> for MyLayer {
    type Output = [f32; 4];
    type Cache = ();
    fn forward(&self, input: &[f32; 4]) -> [f32; 4] {
        input.map(|x| 2.0 * x)
    }
    fn forward_batch(&self, input: &[[f32; 4]], output: &mut [[f32; 4]], _cache: &mut (), _mode: nn::Mode) {
        for (out, x) in output.iter_mut().zip(input) {
            *out = self.forward(x);
        }
    }
    fn backward_batch(
        &self,
        _input: &[[f32; 4]],
        _output: &[[f32; 4]],
        grad_output: &[[f32; 4]],
        grad_input: Option<&mut [[f32; 4]]>,
        _cache: &mut (),
        _grads: &mut Self,
    ) {
        if let Some(grad_input) = grad_input {
            for (grad_in, grad_out) in grad_input.iter_mut().zip(grad_output) {
                *grad_in = grad_out.map(|g| 2.0 * g);
            }
        }
    }
}

network! {
    pub struct Net: [8] => Linear<8, 3> -> MyLayer -> Linear<4, 2>
}

fn main() {}
