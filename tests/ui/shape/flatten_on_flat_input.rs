// Flatten after an input that is already flat does nothing.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Flatten -> Linear<784, 10>
}

fn main() {}
