// Each position has 64 values; a `Linear<32, 27>` takes rows of 32.
use nn::prelude::*;

network! {
    pub struct Gpt: [usize; 16] => Embedding<27, 64> -> GELU -> Linear<32, 27>
}

fn main() {
    let net = Gpt::init(0);
    let _logits = net.forward(&[0; 16]);
}
