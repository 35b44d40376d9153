// A downsampling residual block whose shortcut forgets the stride: the body gives 7x7 images,
// the shortcut 14x14.
use nn::prelude::*;

network! {
    pub struct Net: [16, 14, 14] =>
        Residual {
            Conv2d<16, 32, 3>(stride = 2, padding = 1) -> ReLU -> Conv2d<32, 32, 3>(padding = 1),
            shortcut: Conv2d<16, 32, 1>
        } -> Flatten -> Linear<1568, 10>
}

fn main() {}
