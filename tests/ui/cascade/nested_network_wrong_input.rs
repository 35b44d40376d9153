// A network used as a layer where its input does not fit: one error, not the same one twice.
use nn::prelude::*;

network! {
    pub struct Encoder: [64] => Linear<64, 16> -> ReLU
}

network! {
    pub struct Net: [32] => Linear<32, 32> -> Encoder -> Linear<16, 2>
}

fn main() {
    let net = Net::init(0);
    let _output: [f32; 2] = net.forward(&[0.0; 32]);
}
