// No input shape after the name.
use nn::prelude::*;

network! {
    pub struct Net => Linear<784, 10>
}

fn main() {}
