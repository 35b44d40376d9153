// An `Embedding` looks up token ids; the input was declared as 16 `f32` values.
use nn::prelude::*;

network! {
    pub struct Gpt: [16] => Embedding<27, 64> -> Linear<64, 27>
}

fn main() {
    let net = Gpt::init(0);
    let _logits = net.forward(&[0.0; 16]);
}
