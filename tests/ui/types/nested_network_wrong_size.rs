// A network used as a layer of another network, given the wrong input size: the type system
// catches it, and the message names both.
use nn::prelude::*;

network! {
    pub struct Encoder: [64] => Linear<64, 16> -> ReLU
}

network! {
    pub struct Net: [784] => Linear<784, 128> -> ReLU -> Encoder -> Linear<16, 10>
}

fn main() {}
