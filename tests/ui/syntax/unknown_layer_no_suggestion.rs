// A layer name that is nothing like a built-in one and is not in scope.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Dense<784, 10>
}

fn main() {}
