// A chain that ends with `->`.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> ReLU ->
}

fn main() {}
