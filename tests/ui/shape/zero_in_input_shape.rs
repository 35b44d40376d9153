// A zero in the input shape. One mistake: it should give one error, at the `0`.
use nn::prelude::*;

network! {
    pub struct Net: [28, 0] => Flatten -> Linear<28, 10>
}

fn main() {}
