// An enum has no single set of parameters to walk.
use nn::prelude::*;

#[derive(Clone, Module)]
enum Activation {
    Relu(ReLU),
    Tanh(Tanh),
}

fn main() {
    let _ = Activation::NUM_PARAMS;
}
