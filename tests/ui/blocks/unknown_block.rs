// `Parallel { .. }` is not a block; the blocks are `Residual` and `Concat`.
use nn::prelude::*;

network! {
    pub struct Net: [8] => Parallel { Linear<8, 4>, Linear<8, 4> } -> Linear<8, 2>
}

fn main() {}
