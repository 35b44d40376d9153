// Activations keep their input's shape and take no sizes.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> ReLU<128> -> Linear<128, 10>
}

fn main() {}
