// After an error the macro catches, code using the network gets no "unreachable expression"
// warnings: the only diagnostic is the error.
#![deny(warnings)]
use nn::prelude::*;

network! {
    pub struct Net: [28, 28] => Flatten -> Linear<780, 10>
}

fn main() {
    let net = Net::init(0);
    let logits: [f32; 10] = net.forward(&[[0.0; 28]; 28]);
    println!("{logits:?}");
    let again = Net::init(1);
    println!("{}", again.summary());
}
