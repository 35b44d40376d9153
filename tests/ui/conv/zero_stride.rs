// A stride of 0 would never move.
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => Conv2d<1, 6, 5>(stride = 0) -> Flatten -> Linear<4704, 10>
}

fn main() {}
