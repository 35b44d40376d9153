// `Linear` needs a flat input; a `[28, 28]` image must go through `Flatten` first.
use nn::prelude::*;

network! {
    pub struct Net: [28, 28] => Linear<784, 10>
}

fn main() {}
