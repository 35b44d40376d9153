// Token ids are `usize`, like class labels.
use nn::prelude::*;

network! {
    pub struct Gpt: [u16; 16] => Embedding<27, 64> -> Linear<64, 27>
}

fn main() {
    let net = Gpt::init(0);
    let _logits = net.forward(&[0; 16]);
}
