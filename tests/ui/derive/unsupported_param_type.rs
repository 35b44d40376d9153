// A `#[param]` must be an f32 array (or a `Box` of one); a `Vec` has no shape the compiler knows.
use nn::prelude::*;

#[derive(Clone, Module)]
struct Scale {
    #[param]
    weight: Vec<f32>,
}

fn main() {
    let _ = Scale::NUM_PARAMS;
}
