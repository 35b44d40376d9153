// A dropout probability is at least 0 and below 1.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> Dropout(1.5) -> Linear<128, 10>
}

fn main() {}
