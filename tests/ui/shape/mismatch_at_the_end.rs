// The last layer takes the wrong number of inputs.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<32, 10>
}

fn main() {}
