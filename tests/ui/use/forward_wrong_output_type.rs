// The output of `forward` has the network's output shape; asking for another is a type error.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 10>
}

fn main() {
    let net = Net::init(0);
    let _logits: [f32; 5] = net.forward(&[0.0; 784]);
}
