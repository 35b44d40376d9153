// The body of a residual block widens 16 channels to 32, so it cannot be added to its input.
use nn::prelude::*;

network! {
    pub struct Net: [16, 14, 14] =>
        Residual { Conv2d<16, 32, 3>(padding = 1) -> ReLU -> Conv2d<32, 32, 3>(padding = 1) } -> Flatten -> Linear<6272, 10>
}

fn main() {
    let net = Net::init(0);
    let _logits: [f32; 10] = net.forward(&[[[0.0; 14]; 14]; 16]);
}
