// `LayerNorm` normalises the last dimension, 64 here, not 32.
use nn::prelude::*;

network! {
    pub struct Net: [16] => Linear<16, 64> -> LayerNorm<32> -> GELU -> Linear<64, 2>
}

fn main() {}
