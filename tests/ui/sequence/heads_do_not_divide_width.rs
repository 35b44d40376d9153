// Four or eight heads share a width of 64 equally; five cannot.
use nn::prelude::*;

network! {
    pub struct Gpt: [usize; 16] => Embedding<27, 64> -> CausalSelfAttention<64, 5> -> Linear<64, 27>
}

fn main() {
    let net = Gpt::init(0);
    let _logits = net.forward(&[0; 16]);
}
