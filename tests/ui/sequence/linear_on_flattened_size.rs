// `Linear` acts on the last dimension (64 per position), as PyTorch's does; 1024 is every value
// of the sequence, which needs `Flatten` first.
use nn::prelude::*;

network! {
    pub struct Gpt: [usize; 16] => Embedding<27, 64> -> LayerNorm<64> -> Linear<1024, 27>
}

fn main() {
    let net = Gpt::init(0);
    let _logits = net.forward(&[0; 16]);
}
