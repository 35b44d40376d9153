// The field names are the keys of the saved file: a tuple struct has none.
use nn::prelude::*;

#[derive(Clone, Module)]
struct Scale(#[param] [f32; 4], #[param] [f32; 4]);

fn main() {
    let _ = Scale::NUM_PARAMS;
}
