// `->` written twice.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> -> ReLU -> Linear<128, 10>
}

fn main() {}
