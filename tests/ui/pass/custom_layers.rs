// The two kinds of custom layer, each as short as it gets, inside a `network!` chain.
//
// Line counts, from the first attribute to the last closing brace of each layer's items:
// - `Square`, a parameter-free element-wise layer: 7 lines.
// - `Scale`, a layer with its own weights: 23 lines (`#[derive(Module)]` writes the whole
//   parameter walk; the rest is the `Layer` impl, most of it `backward_batch`'s signature).
// Both are written as the doc examples write small functions, one-line bodies on one line;
// rustfmt would make them 11 and 30 lines.
use nn::prelude::*;

/// `x^2`, an activation of my own.
#[derive(Clone, Default)]
struct Square;
impl Elementwise for Square {
    fn apply(&self, x: f32) -> f32 { x * x }
    fn derivative(&self, x: f32, _y: f32) -> f32 { 2.0 * x }
}
nn::elementwise_layer!(Square);

/// `y = x * weight + bias`, one weight and one bias per feature.
#[derive(Clone, Module)]
struct Scale<const N: usize> {
    #[param(init = 1.0)] weight: [f32; N],
    #[param] bias: [f32; N],
}
impl<const N: usize> Layer<[f32; N]> for Scale<N> {
    type Output = [f32; N];
    type Cache = ();
    fn forward(&self, x: &[f32; N]) -> [f32; N] { std::array::from_fn(|i| x[i] * self.weight[i] + self.bias[i]) }
    fn backward_batch(
        &self,
        x: &[[f32; N]],
        _y: &[[f32; N]],
        dy: &[[f32; N]],
        dx: Option<&mut [[f32; N]]>,
        _cache: &mut (),
        grads: &mut Self,
    ) {
        grads.weight = std::array::from_fn(|i| x.iter().zip(dy).map(|(x, dy)| x[i] * dy[i]).sum());
        grads.bias = std::array::from_fn(|i| dy.iter().map(|dy| dy[i]).sum());
        dx.into_iter().flatten().zip(dy).for_each(|(dx, dy)| *dx = std::array::from_fn(|i| dy[i] * self.weight[i]));
    }
}

network! {
    /// Both custom layers between built-in ones.
    struct Custom: [4] => Linear<4, 3> -> Square -> scale: Scale<3> -> Linear<3, 2>
}

fn main() {
    let net = Custom::init(0);
    assert_eq!(Custom::NUM_PARAMS, (4 * 3 + 3) + (3 + 3) + (3 * 2 + 2));
    assert_eq!(net.scale.weight, [1.0; 3]);
    let y = net.forward(&[1.0, -2.0, 0.5, 3.0]);

    let path = std::env::temp_dir().join(format!("nn-custom-layers-{}.safetensors", std::process::id()));
    let mut changed = net.clone();
    changed.scale.bias = [0.5, -0.5, 0.25];
    changed.save(&path).unwrap();
    let loaded = Custom::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.scale.bias, [0.5, -0.5, 0.25]);
    assert_ne!(loaded.forward(&[1.0, -2.0, 0.5, 3.0]), y);
}
