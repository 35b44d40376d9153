// A residual block adds its body's output to its input: the body must give back 64 per position.
use nn::prelude::*;

network! {
    pub struct Gpt: [usize; 16] => Embedding<27, 64>
        -> Residual { LayerNorm<64> -> CausalSelfAttention<64, 4> -> Linear<64, 32> }
        -> Linear<32, 27>
}

fn main() {
    let net = Gpt::init(0);
    let _logits = net.forward(&[0; 16]);
}
