// Flatten of [16, 5, 5] gives 400 values, not 401.
use nn::prelude::*;

network! {
    pub struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<401, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

fn main() {}
