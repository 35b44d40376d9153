// The first layer does not take the input's size.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<700, 10>
}

fn main() {}
