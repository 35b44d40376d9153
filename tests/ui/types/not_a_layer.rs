// A user type that implements neither `Module` nor `Layer` used as a layer.
use nn::prelude::*;

pub struct MyLayer;

network! {
    pub struct Net: [4] => MyLayer -> Linear<4, 2>
}

fn main() {}
