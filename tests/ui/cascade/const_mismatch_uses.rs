// A size given by a `const` that does not fit: one error at the layer, none where the network
// is used.
use nn::prelude::*;

const HIDDEN: usize = 128;

network! {
    pub struct Net: [784] => Linear<784, HIDDEN> -> ReLU -> Linear<100, 10>
}

fn main() -> nn::Result<()> {
    let net = Net::init(7);
    let _logits: [f32; 10] = net.forward(&[0.0; 784]);
    println!("{}", net.summary());
    net.save("net.safetensors")?;
    Ok(())
}
