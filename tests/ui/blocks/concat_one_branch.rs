// `Concat` with one branch joins nothing.
use nn::prelude::*;

network! {
    pub struct Net: [8] => Concat { Linear<8, 4> -> ReLU } -> Linear<4, 2>
}

fn main() {}
