// A misspelt constant: one mistake, which should give one error at `HIDEN`.
use nn::prelude::*;

const HIDDEN: usize = 128;

network! {
    pub struct Net: [784] => Linear<784, HIDEN> -> ReLU -> Linear<HIDDEN, 10>
}

fn main() {}
