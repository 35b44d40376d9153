// A convolution needs [C, H, W]; the input is declared [28, 28].
use nn::prelude::*;

network! {
    pub struct Net: [28, 28] => Conv2d<1, 6, 5> -> ReLU -> Flatten -> Linear<3456, 10>
}

fn main() {}
