// The second `Linear` takes 100 inputs, but the layer before it gives 128.
use nn::prelude::*;

network! {
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<100, 64> -> ReLU -> Linear<64, 10>
}

fn main() {}
