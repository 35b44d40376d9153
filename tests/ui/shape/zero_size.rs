// A layer with no inputs is meaningless: a size of 0 is an error even where a
// chain is otherwise well formed.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linear<784, 128> -> ReLU -> Linear<0, 10>
}

fn main() {}
