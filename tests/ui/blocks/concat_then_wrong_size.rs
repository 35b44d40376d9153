// Two branches of 32 and 16 features give 48, not 64.
use nn::prelude::*;

network! {
    pub struct Net: [64] => Concat { Linear<64, 32> -> ReLU, Linear<64, 16> } -> Linear<64, 10>
}

fn main() {}
