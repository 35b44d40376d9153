//! `#[derive(Module)]`: the keys, shapes and order of the parameter walk it writes, what
//! `zip_params` leaves out, `init`, `NUM_PARAMS` and `set_frozen`; and a layer written with it
//! (`Scale`) checked against finite differences inside a network and trained by `nn::Trainer`.

mod common;

use common::gradcheck::{check_forward, check_network_params, cross_entropy64, flat64, linear64, random_batch, Layout};
use nn::data::InMemory;
use nn::loss::{CrossEntropy, Mse};
use nn::prelude::*;
use nn::train::Workspace;
use nn::Rng;

/// `y = x * weight + bias`, per feature: the layer of `tests/ui/pass/custom_layers.rs`.
#[derive(Clone, Module)]
struct Scale<const N: usize> {
    #[param(init = 1.0)]
    weight: [f32; N],
    #[param]
    bias: [f32; N],
}

impl<const N: usize> Layer<[f32; N]> for Scale<N> {
    type Output = [f32; N];
    type Cache = ();
    fn forward(&self, x: &[f32; N]) -> [f32; N] {
        std::array::from_fn(|i| x[i] * self.weight[i] + self.bias[i])
    }
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
        dx.into_iter()
            .flatten()
            .zip(dy)
            .for_each(|(dx, dy)| *dx = std::array::from_fn(|i| dy[i] * self.weight[i]));
    }
}

/// Configuration kept by a derived module: not a tensor, built by `Default`.
#[derive(Clone, Debug, PartialEq)]
struct Momentum(f32);

impl Default for Momentum {
    fn default() -> Self {
        Momentum(0.1)
    }
}

/// Every kind of field, in an order that interleaves them.
#[derive(Clone, Module)]
struct Everything<const N: usize> {
    #[param(init = uniform_fan_in(N))]
    weight: Box<[[f32; N]; 2]>,
    #[buffer(init = 1.0)]
    running_var: [f32; 2],
    #[module]
    norm: BatchNorm1d<2>,
    #[param(init = 0.5)]
    bias: [f32; 2],
    #[param(init = |rng| rng.uniform(2.0, 3.0))]
    image: [[[f32; 2]; 1]; 3],
    #[frozen]
    frozen: bool,
    momentum: Momentum,
}

#[test]
fn visit_params_gives_keys_and_shapes_in_field_order() {
    let module = Everything::<5>::init_with(&mut Rng::seed(0));
    let mut keys = Vec::new();
    module.visit_params("block.", &mut |key, shape, values| {
        assert_eq!(values.len(), shape.iter().product::<usize>(), "{key}");
        keys.push(format!("{key} {shape:?}"));
    });
    assert_eq!(
        keys,
        [
            "block.weight [2, 5]",
            "block.running_var [2]",
            "block.norm.weight [2]",
            "block.norm.bias [2]",
            "block.norm.running_mean [2]",
            "block.norm.running_var [2]",
            "block.bias [2]",
            "block.image [3, 1, 2]",
        ]
    );
    let mut counters = Vec::new();
    module.visit_counters("block.", &mut |key, value| counters.push(format!("{key} = {value}")));
    assert_eq!(counters, ["block.norm.num_batches_tracked = 0"]);
}

#[test]
fn num_params_counts_params_and_sub_modules_not_buffers() {
    // weight 2 x 5, norm.weight and norm.bias 2 each, bias 2, image 3 x 1 x 2.
    assert_eq!(Everything::<5>::NUM_PARAMS, 10 + 4 + 2 + 6);
    assert_eq!(Scale::<7>::NUM_PARAMS, 14);
}

#[test]
fn zip_params_walks_params_and_sub_modules_but_not_buffers() {
    let module = Everything::<5>::init_with(&mut Rng::seed(0));
    assert_eq!(
        Layout::trainable(&module),
        ["weight", "norm.weight", "norm.bias", "bias", "image"]
    );
}

#[test]
fn init_applies_each_rule_in_field_order_and_row_major() {
    let module = Everything::<5>::init_with(&mut Rng::seed(3));
    // The same generator drawn by hand: the weight's 10 values uniform in +-1/sqrt(5) (PyTorch's
    // bound for `nn.Linear(5, ..)`), then BatchNorm1d's init (no draws), then the image's 6.
    let mut rng = Rng::seed(3);
    let bound = 1.0 / 5f32.sqrt();
    let weight: Vec<f32> = (0..10).map(|_| rng.uniform(-bound, bound)).collect();
    let image: Vec<f32> = (0..6).map(|_| rng.uniform(2.0, 3.0)).collect();
    assert_eq!(module.weight.as_flattened(), weight);
    assert_eq!(module.image.as_flattened().as_flattened(), image);
    assert_eq!(module.running_var, [1.0; 2]);
    assert_eq!(module.bias, [0.5; 2]);
    assert_eq!(
        module.norm.weight,
        BatchNorm1d::<2>::init_with(&mut Rng::seed(0)).weight
    );
    assert!(!module.frozen);
    assert_eq!(module.momentum, Momentum(0.1));

    // `zeros` is every own tensor zero and each sub-module's own `zeros` (a batch norm keeps its
    // running variance at 1 there).
    let zeros = Everything::<5>::zeros();
    zeros.visit_params("", &mut |key, _, values| {
        assert!(key.starts_with("norm.") || values.iter().all(|&v| v == 0.0), "{key}");
    });
    assert_eq!(zeros.norm.running_var, BatchNorm1d::<2>::zeros().running_var);
    assert_eq!(Scale::<3>::init_with(&mut Rng::seed(0)).weight, [1.0; 3]);
    assert_eq!(Scale::<3>::init_with(&mut Rng::seed(0)).bias, [0.0; 3]);
}

#[test]
fn set_frozen_stops_updates_of_params_and_sub_modules() {
    let mut module = Everything::<5>::init_with(&mut Rng::seed(0));
    let grads = module.clone();
    module.set_frozen(true);
    assert!(module.frozen);
    let mut updates = 0;
    module.zip_params(&grads, &mut |_, _| updates += 1);
    assert_eq!(updates, 0);
    module.set_frozen(false);
    module.zip_params(&grads, &mut |_, _| updates += 1);
    assert_eq!(updates, 5);
}

network! {
    struct Scaled: [3] => scale: Scale<3> -> Linear<3, 2>
}

#[test]
fn scale_gradients_in_a_network_match_finite_differences() {
    let mut rng = Rng::seed(5);
    let mut net = Scaled::init(1);
    // Away from the initial 1 and 0, so that a swapped weight and bias gradient shows.
    net.scale.weight = [0.5, -1.5, 2.0];
    net.scale.bias = [0.3, -0.2, 0.1];
    let batch = 4;
    let inputs: Vec<[f32; 3]> = random_batch(&mut rng, batch, -1.0, 1.0);
    let labels = [0, 1, 1, 0];
    let mut workspace = Workspace::<Scaled, [f32; 3], usize>::new();
    let value = workspace.compute_grads(&mut net, &CrossEntropy, &inputs, &labels);

    let (layout, params) = Layout::of(&net);
    let x = flat64(&inputs);
    let logits = |p: &[f64]| -> Vec<Vec<f64>> {
        let (weight, bias) = (layout.get(p, "scale.weight"), layout.get(p, "scale.bias"));
        x.chunks_exact(3)
            .map(|x| {
                let h: Vec<f64> = (0..3).map(|i| x[i] * weight[i] + bias[i]).collect();
                linear64(layout.get(p, "1.weight"), layout.get(p, "1.bias"), &h)
            })
            .collect()
    };
    let mean_loss = |p: &[f64]| -> f64 {
        let losses = logits(p)
            .into_iter()
            .zip(&labels)
            .map(|(l, &label)| cross_entropy64(&l, label));
        losses.sum::<f64>() / batch as f64
    };
    for (sample, expected) in inputs.iter().zip(logits(&params)) {
        check_forward("Scaled forward", &net.forward(sample), &expected);
    }
    check_forward("Scaled mean loss", &[value], &[mean_loss(&params)]);
    check_network_params("Scaled", &net, workspace.grads(), &mut rng, mean_loss);
}

network! {
    struct Affine: [1] => scale: Scale<1>
}

#[test]
fn a_derived_layer_trains_with_the_trainer() {
    // y = 2x + 1 has the exact answer weight 2, bias 1.
    let xs = [-1.0, 0.0, 1.0, 2.0];
    let data = InMemory::new(xs.map(|x| [x]).to_vec(), xs.map(|x| [2.0 * x + 1.0]).to_vec()).unwrap();
    let mut net = Affine::init(0);
    let mut opt = Sgd::new(0.1);
    nn::Trainer::new(Mse)
        .epochs(300)
        .batch_size(4)
        .quiet()
        .fit(&mut net, &mut opt, &data, None)
        .unwrap();
    let (weight, bias) = (net.scale.weight[0], net.scale.bias[0]);
    assert!(
        (weight - 2.0).abs() < 1e-3 && (bias - 1.0).abs() < 1e-3,
        "w = {weight}, b = {bias}"
    );
}
