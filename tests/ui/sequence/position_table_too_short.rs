// A table of 8 learned positions cannot cover a context of 16 tokens.
use nn::prelude::*;

network! {
    pub struct Gpt: [usize; 16] => Embedding<27, 64> -> PositionEmbedding<8, 64> -> Linear<64, 27>
}

fn main() {
    let net = Gpt::init(0);
    let _logits = net.forward(&[0; 16]);
}
