// Flatten comes after the convolutions, not before.
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => Flatten -> Conv2d<1, 6, 5> -> Linear<3456, 10>
}

fn main() {}
