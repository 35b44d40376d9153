// A typo makes a size absurdly large; the macro says so instead of overflowing the stack.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 1280000000> -> ReLU -> Linear<128, 10>
}

fn main() {}
