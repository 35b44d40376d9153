// `BatchNorm2d` after a `Linear`: flat features take `BatchNorm1d`.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> BatchNorm2d<128> -> ReLU -> Linear<128, 10>
}

fn main() {}
