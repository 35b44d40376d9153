// `GELU`'s one option is `approximate = "tanh"`.
use nn::prelude::*;

network! {
    pub struct Net: [16] => Linear<16, 16> -> GELU(approximate = "fast") -> Linear<16, 2>
}

fn main() {}
