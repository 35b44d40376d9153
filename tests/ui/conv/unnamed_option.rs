// Options are named: (padding = 2), not (2).
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => Conv2d<1, 6, 5>(2) -> Flatten -> Linear<4704, 10>
}

fn main() {}
