// No `=>` between the input shape and the first layer.
use nn::prelude::*;

network! {
    pub struct Net: [784] Linear<784, 10>
}

fn main() {}
