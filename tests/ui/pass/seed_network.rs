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

/// Doubles its inputs: a parameter-free custom layer (see `custom_layers.rs` for one with weights).
#[derive(Debug, Clone, Copy, Default)]
pub struct Double;

impl Elementwise for Double {
    fn apply(&self, x: f32) -> f32 {
        2.0 * x
    }
    fn derivative(&self, _x: f32, _y: f32) -> f32 {
        2.0
    }
}
nn::elementwise_layer!(Double);

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
