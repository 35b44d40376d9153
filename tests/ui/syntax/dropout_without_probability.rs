// `Dropout` needs its probability.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> Dropout -> Linear<128, 10>
}

fn main() {}
