// A residual nested inside a branch: its body changes 8 features to 4.
use nn::prelude::*;

network! {
    pub struct Net: [8] => Concat { Residual { Linear<8, 4> -> ReLU }, Linear<8, 4> } -> Linear<8, 2>
}

fn main() {}
