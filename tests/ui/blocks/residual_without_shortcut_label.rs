// The second path of a residual block must be labelled `shortcut:`.
use nn::prelude::*;

network! {
    pub struct Net: [8] => Residual { Linear<8, 4>, Linear<8, 4> } -> Linear<4, 2>
}

fn main() {}
