// Sizes computed from constants in braces compile without warnings (rustc's unused-braces lint
// would suggest removing braces that a generic argument needs).
#![deny(warnings)]
use nn::prelude::*;

const HIDDEN: usize = 16;

network! {
    pub struct Net: [8] => Linear<8, { HIDDEN * 2 }> -> ReLU -> Linear<{ HIDDEN * 2 }, { HIDDEN }> -> Linear<HIDDEN, 2>
}

fn main() {
    let net = Net::init(0);
    let _: [f32; 2] = net.forward(&[0.0; 8]);
    assert_eq!(Net::NUM_PARAMS, 8 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2);
}
