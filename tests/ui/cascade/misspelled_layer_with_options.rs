// `Conv2D` for `Conv2d`: one error at the name, none for the options in parentheses.
use nn::prelude::*;

network! {
    pub struct LeNet: [1, 28, 28] => Conv2D<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<1176, 10>
}

fn main() {
    let net = LeNet::init(0);
    let _logits: [f32; 10] = net.forward(&[[[0.0; 28]; 28]; 1]);
}
