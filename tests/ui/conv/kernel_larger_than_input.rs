// The third convolution's 5x5 kernel meets a 4x4 feature map.
use nn::prelude::*;

network! {
    pub struct Deep: [1, 28, 28] => Conv2d<1, 6, 5> -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> MaxPool2d<2> -> Conv2d<16, 32, 5> -> Flatten -> Linear<32, 10>
}

fn main() {}
