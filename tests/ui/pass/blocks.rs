// Blocks as users write them: named layers inside blocks, blocks inside blocks, a network
// declared once and reused as a layer inside a block, a custom layer in a branch.
use nn::prelude::*;

network! {
    /// A residual block declared once, used below as a layer.
    pub struct Block: [16] => Residual { fc: Linear<16, 16> -> ReLU -> Linear<16, 16> }
}

/// Doubles its input.
#[derive(Debug, Clone, Copy, Default)]
pub struct Double;

impl Elementwise for Double {
    fn apply(&self, x: f32) -> f32 {
        2.0 * x
    }
    fn derivative(&self, _x: f32, _y: f32) -> f32 {
        2.0
    }
}

nn::elementwise_layer!(Double);

network! {
    /// Every form at once.
    pub struct Net: [8] =>
        stem: Linear<8, 16> -> ReLU ->
        Block -> Block ->
        wide: Concat {
            Residual { Linear<16, 16> -> Tanh, shortcut: Identity },
            Linear<16, 8> -> Double,
            Residual { Residual { Linear<16, 16> } -> LayerNorm<16> }
        } ->
        BatchNorm1d<40> -> Dropout(0.1) -> head: Linear<40, 3>
}

fn main() {
    let net = Net::init(0);
    let _: [f32; 3] = net.forward(&[0.5; 8]);
    assert_eq!(net.layer_2.layer_0.body.fc.weight.len(), 16);
    let mut keys = Vec::new();
    net.visit_params("", &mut |key, _, _| keys.push(key.to_string()));
    assert!(keys.contains(&"2.0.body.fc.weight".to_string()));
    assert!(keys.contains(&"wide.branches.2.0.body.0.body.0.weight".to_string()));
    assert!(keys.contains(&"5.running_mean".to_string()));
    println!("{}", net.summary());
}
