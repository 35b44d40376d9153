// A `[28, 28]` network takes one `[[f32; 28]; 28]` image, not 784 flat values.
use nn::prelude::*;

network! {
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

fn main() {
    let net = MnistMlp::init(42);
    let _logits = net.forward(&[0.0f32; 784]);
}
