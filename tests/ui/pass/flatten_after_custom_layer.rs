// `Flatten` after a layer whose output shape the macro cannot see (here another network): the
// compiler computes its size from the layer's output type, and a flat input passes through.
use nn::prelude::*;

network! {
    pub struct Inner: [4] => Linear<4, 4>
}

network! {
    pub struct Net: [4] => Inner -> Flatten -> Linear<4, 2>
}

fn main() {
    let net = Net::init(0);
    let _: [f32; 2] = net.forward(&[1.0, 2.0, 3.0, 4.0]);
}
