// A 4x4 pooling window over a 3x3 feature map.
use nn::prelude::*;

network! {
    pub struct Net: [1, 12, 12] => Conv2d<1, 4, 5> -> MaxPool2d<2> -> Conv2d<4, 8, 2> -> MaxPool2d<4> -> Flatten -> Linear<8, 10>
}

fn main() {}
