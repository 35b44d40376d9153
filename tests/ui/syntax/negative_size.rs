// Sizes are whole numbers of at least 1.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, -10>
}

fn main() {}
