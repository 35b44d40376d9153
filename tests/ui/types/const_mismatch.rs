// The macro cannot see the value of `HIDDEN`, so the type system reports that
// `Linear<100, 10>` cannot take the `[f32; HIDDEN]` = `[f32; 128]` the layer before it gives.
use nn::prelude::*;

const HIDDEN: usize = 128;

network! {
    pub struct Net: [784] => Linear<784, HIDDEN> -> ReLU -> Linear<100, 10>
}

fn main() {}
