// Branches joined along channels must give images of one size; the second one pools.
use nn::prelude::*;

network! {
    pub struct Net: [3, 8, 8] =>
        Concat { Conv2d<3, 4, 3>(padding = 1), Conv2d<3, 4, 1> -> MaxPool2d<2> } -> Flatten -> Linear<512, 10>
}

fn main() {}
