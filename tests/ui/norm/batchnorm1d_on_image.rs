// `BatchNorm1d` after a convolution: images take `BatchNorm2d`.
use nn::prelude::*;

network! {
    pub struct Net: [1, 8, 8] => Conv2d<1, 4, 3> -> BatchNorm1d<4> -> Flatten -> Linear<144, 10>
}

fn main() {}
