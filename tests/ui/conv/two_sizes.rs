// Conv2d needs in channels, out channels and the kernel size.
use nn::prelude::*;

network! {
    pub struct Net: [1, 28, 28] => Conv2d<1, 6> -> Flatten -> Linear<4704, 10>
}

fn main() {}
