// Token ids are not values a `Linear` can weigh: an `Embedding` turns them into vectors first.
use nn::prelude::*;

network! {
    pub struct Model: [usize; 16] => Linear<16, 8> -> ReLU -> Linear<8, 2>
}

fn main() {
    let net = Model::init(0);
    let _output = net.forward(&[0; 16]);
}
