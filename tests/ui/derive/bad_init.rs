// An `init` rule is a number, `uniform(..)`, `uniform_fan_in(..)` or a closure of the generator.
use nn::prelude::*;

#[derive(Clone, Module)]
struct Scale<const N: usize> {
    #[param(init = "ones")]
    weight: [f32; N],
}

fn main() {
    let _ = Scale::<4>::NUM_PARAMS;
}
