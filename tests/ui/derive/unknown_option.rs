// `init` is the only option of `#[param]`; a misspelt or invented one is named.
use nn::prelude::*;

#[derive(Clone, Module)]
struct Scale<const N: usize> {
    #[param(init = 1.0, weight_decay = 0.01)]
    weight: [f32; N],
    #[param(intit = 0.0)]
    bias: [f32; N],
}

fn main() {
    let _ = Scale::<4>::NUM_PARAMS;
}
