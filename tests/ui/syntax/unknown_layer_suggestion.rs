// `Relu` is not a layer; the built-in one is spelled `ReLU`.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> Relu -> Linear<128, 10>
}

fn main() {}
