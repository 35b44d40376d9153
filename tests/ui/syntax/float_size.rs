// Sizes are whole numbers.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> ReLU -> Linear<7.5, 10>
}

fn main() {}
