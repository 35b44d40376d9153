// Everything a user may write that must compile: the seed network, a named layer,
// a layer sized by a `const`, and a custom layer.
use nn::prelude::*;

network! {
    /// The classic MNIST classifier.
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

network! {
    /// The same network with a named first layer.
    pub struct Named: [28, 28] => Flatten -> fc1: Linear<784, 128> -> ReLU -> Linear<128, 10>
}

const HIDDEN: usize = 128;

network! {
    /// A hidden size given by a named constant, checked by the type system.
    pub struct WithConst: [784] => Linear<784, HIDDEN> -> ReLU -> Linear<HIDDEN, 10>
}

/// Doubles its 4 inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Double;

impl Module for Double {
    const NUM_PARAMS: usize = 0;
    fn init(_rng: &mut nn::Rng) -> Self {
        Double
    }
    fn zeros() -> Self {
        Double
    }
    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}
    fn visit_params_mut(&mut self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {}
    fn zip_params(&mut self, _grads: &Self, _update: &mut dyn FnMut(&mut [f32], &[f32])) {}
}

impl Layer<[f32; 4]> for Double {
    type Output = [f32; 4];
    type Cache = ();
    fn forward(&self, input: &[f32; 4]) -> [f32; 4] {
        input.map(|x| 2.0 * x)
    }
    // `forward_batch` defaults to `forward` on each sample.
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
    /// A custom layer between two built-in ones.
    pub struct WithCustom: [8] => Linear<8, 4> -> Double -> Linear<4, 2>
}

fn main() {
    let net = MnistMlp::init(42);
    let logits: [f32; 10] = net.forward(&[[0.0; 28]; 28]);
    assert_eq!(logits.len(), 10);
    assert_eq!(MnistMlp::NUM_PARAMS, 109_386);

    let named = Named::init(1);
    let _: [f32; 10] = named.forward(&[[0.5; 28]; 28]);
    assert_eq!(named.fc1.weight.len(), 128);

    let with_const = WithConst::init(2);
    let _: [f32; 10] = with_const.forward(&[0.0; 784]);
    assert_eq!(WithConst::NUM_PARAMS, 784 * HIDDEN + HIDDEN + HIDDEN * 10 + 10);

    let with_custom = WithCustom::init(3);
    let _: [f32; 2] = with_custom.forward(&[1.0; 8]);
    assert_eq!(WithCustom::NUM_PARAMS, 8 * 4 + 4 + 4 * 2 + 2);
}
