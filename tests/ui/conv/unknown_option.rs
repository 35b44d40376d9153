// PyTorch spells it padding.
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => Conv2d<1, 6, 5>(pad = 2) -> Flatten -> Linear<4704, 10>
}

fn main() {}
