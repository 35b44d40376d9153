// Inputs have one, two or three dimensions.
use nn::prelude::*;

network! {
    pub struct Net: [1, 3, 28, 28] => Flatten -> Linear<2352, 10>
}

fn main() {}
