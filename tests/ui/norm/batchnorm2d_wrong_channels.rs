// The convolution gives 16 channels; the batch norm is written for 32.
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => Conv2d<1, 16, 3>(padding = 1) -> BatchNorm2d<32> -> ReLU -> Flatten -> Linear<12544, 10>
}

fn main() {}
