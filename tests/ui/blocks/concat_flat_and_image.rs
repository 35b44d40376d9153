// One branch flattens, the other keeps the image: they cannot be joined.
use nn::prelude::*;

network! {
    pub struct Net: [1, 4, 4] =>
        Concat { Flatten -> Linear<16, 8>, Conv2d<1, 2, 1> } -> Flatten -> Linear<40, 10>
}

fn main() {}
