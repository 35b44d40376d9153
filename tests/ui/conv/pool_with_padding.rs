// Pooling here never pads.
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => MaxPool2d<2>(padding = 1) -> Flatten -> Linear<196, 10>
}

fn main() {}
