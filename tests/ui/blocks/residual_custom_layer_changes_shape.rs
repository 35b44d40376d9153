// A network used inside a residual body gives 4 values where the block takes 8: only the type
// system can see it.
use nn::prelude::*;

network! {
    pub struct Squeeze: [8] => Linear<8, 4> -> ReLU
}

network! {
    pub struct Net: [8] => Linear<8, 8> -> Residual { Squeeze } -> Linear<8, 2>
}

fn main() {
    let net = Net::init(0);
    let _: [f32; 2] = net.forward(&[0.0; 8]);
}
