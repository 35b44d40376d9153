// Two independent mistakes: both are reported, each at its own number.
use nn::prelude::*;

network! {
    pub struct Net: [28, 28] => Flatten -> Linear<780, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<32, 10>
}

fn main() {}
