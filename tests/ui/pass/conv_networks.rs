// Convolutional networks that must compile: LeNet-5, strides and padding, average pooling,
// sizes from named constants, and a custom layer before a convolution.
use nn::prelude::*;

network! {
    pub struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

network! {
    pub struct Strided: [3, 9, 8] => Conv2d<3, 4, 3>(stride = 2, padding = 1) -> Tanh -> AvgPool2d<3>(stride = 1) -> Flatten -> Linear<24, 2>
}

const CHANNELS: usize = 4;
const KERNEL: usize = 3;

network! {
    pub struct Named: [2, 10, 10] => Conv2d<2, CHANNELS, KERNEL>(padding = 1) -> MaxPool2d<2> -> Flatten -> Linear<{ CHANNELS * 25 }, 3>
}

/// Passes its input through: the macro cannot see its output shape, the compiler can.
#[derive(Clone, Default)]
pub struct Identity;

impl Module for Identity {
    const NUM_PARAMS: usize = 0;
    fn init_with(_rng: &mut nn::Rng) -> Self {
        Identity
    }
    fn zeros() -> Self {
        Identity
    }
    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &[f32])) {}
    fn visit_params_mut(&mut self, _prefix: &str, _visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {}
    fn zip_params(&mut self, _grads: &Self, _update: &mut dyn FnMut(&mut [f32], &[f32])) {}
}

impl<T: Tensor> Layer<T> for Identity {
    type Output = T;
    type Cache = ();
    fn forward(&self, input: &T) -> T {
        *input
    }
    fn forward_batch(&self, input: &[T], output: &mut [T], _cache: &mut (), _mode: nn::Mode) {
        output.copy_from_slice(input);
    }
    fn backward_batch(
        &self,
        _input: &[T],
        _output: &[T],
        grad_output: &[T],
        grad_input: Option<&mut [T]>,
        _cache: &mut (),
        _grads: &mut Self,
    ) {
        if let Some(grad_input) = grad_input {
            grad_input.copy_from_slice(grad_output);
        }
    }
}

network! {
    pub struct AfterCustom: [1, 8, 8] => Identity -> Conv2d<1, 2, 3> -> MaxPool2d<2> -> Flatten -> Linear<18, 2>
}

fn main() {
    let lenet = LeNet::init(0);
    let logits: [f32; 10] = lenet.forward(&[[[0.5; 28]; 28]]);
    assert!(logits.iter().all(|x| x.is_finite()));
    assert_eq!(LeNet::NUM_PARAMS, 61_706);
    let _: [f32; 2] = Strided::init(0).forward(&[[[0.0; 8]; 9]; 3]);
    let _: [f32; 3] = Named::init(0).forward(&[[[0.0; 10]; 10]; 2]);
    let _: [f32; 2] = AfterCustom::init(0).forward(&[[[0.0; 8]; 8]]);
}
