// `Flatten` of a `[28, 28]` input gives 784 values, not 780.
use nn::prelude::*;

network! {
    pub struct Net: [28, 28] => Flatten -> Linear<780, 10>
}

fn main() {}
