// `Flatten` after a layer whose output shape the macro cannot see (here another network).
// The macro asks for `Flatten<N>`; the `Linear` after it should not get an error of its own.
use nn::prelude::*;

network! {
    pub struct Inner: [4] => Linear<4, 4>
}

network! {
    pub struct Net: [4] => Inner -> Flatten -> Linear<4, 2>
}

fn main() {}
