// `Linear` needs both sizes.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784> -> ReLU
}

fn main() {}
