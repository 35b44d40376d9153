// stride is given twice.
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => Conv2d<1, 6, 5>(stride = 2, stride = 1) -> Flatten -> Linear<1176, 10>
}

fn main() {}
