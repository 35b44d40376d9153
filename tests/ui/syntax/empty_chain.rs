// An input shape and no layers.
use nn::prelude::*;

network! {
    pub struct Net: [784] =>
}

fn main() {}
