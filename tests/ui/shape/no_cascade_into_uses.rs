// After a mistake in the declaration, code that uses the network reports nothing more: the one
// error is the mistake itself.
use nn::prelude::*;

network! {
    pub struct Net: [28, 28] => Flatten -> Linear<780, 10>
}

fn main() -> nn::Result<()> {
    let net = Net::init(0);
    let _logits: [f32; 10] = net.forward(&[[0.0; 28]; 28]);
    println!("{} {}", net.summary(), Net::NUM_PARAMS);
    net.save("net.safetensors")?;
    let _again = Net::load("net.safetensors")?;
    Ok(())
}
