// Two layers with the same name would save to the same safetensors keys.
use nn::prelude::*;

network! {
    pub struct Net: [784] => fc: Linear<784, 128> -> ReLU -> fc: Linear<128, 10>
}

fn main() {}
