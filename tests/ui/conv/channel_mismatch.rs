// The second convolution takes 8 channels, but the first gives 6.
use nn::prelude::*;

network! {
    pub struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<8, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

fn main() {}
