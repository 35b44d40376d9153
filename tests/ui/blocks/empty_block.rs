// A block with nothing inside.
use nn::prelude::*;

network! {
    pub struct Net: [8] => Linear<8, 8> -> Residual {} -> Linear<8, 2>
}

fn main() {}
