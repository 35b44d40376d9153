//! `Dropout(p)`: identity in evaluation, inverted dropout while training, the same mask in the
//! backward pass, and reproducible masks.

use nn::data::InMemory;
use nn::prelude::*;
use nn::Mode;
use nn_runtime::layer::DropoutCache;

network! {
    struct Regularised: [8] => Linear<8, 16> -> ReLU -> Dropout(0.5) -> Linear<16, 3>
}

fn batch(count: usize) -> Vec<[f32; 1000]> {
    let mut rng = nn::Rng::seed(9);
    (0..count)
        .map(|_| std::array::from_fn(|_| rng.uniform(0.5, 1.5)))
        .collect()
}

#[test]
fn evaluation_passes_values_through() {
    let layer = Dropout::new(0.3);
    let input = batch(2);
    let mut output = vec![[0.0; 1000]; 2];
    layer.forward_batch(&input, &mut output, &mut DropoutCache::default(), Mode::Eval);
    assert_eq!(output, input);
    assert_eq!(layer.forward(&input[0]), input[0]);
}

#[test]
fn training_zeroes_a_share_p_and_scales_the_rest() {
    let p = 0.3f32;
    let layer = Dropout::init_with(&mut nn::Rng::seed(1), p);
    let input = batch(100);
    let mut output = vec![[0.0; 1000]; 100];
    layer.forward_batch(&input, &mut output, &mut DropoutCache::default(), Mode::Train);
    let (inputs, outputs) = (input.as_flattened(), output.as_flattened());
    let zeroed = outputs.iter().filter(|&&y| y == 0.0).count() as f64 / outputs.len() as f64;
    // 100,000 Bernoulli(0.3) draws: standard deviation of the share is sqrt(0.3 * 0.7 / 1e5) = 0.0014.
    assert!((zeroed - 0.3).abs() < 0.01, "share zeroed {zeroed}");
    let scale = 1.0 / (1.0 - p);
    for (&x, &y) in inputs.iter().zip(outputs) {
        assert!(y == 0.0 || y == x * scale, "{y} is neither 0 nor {x} / (1 - p)");
    }
}

#[test]
fn backward_applies_the_forward_mask() {
    let layer = Dropout::init_with(&mut nn::Rng::seed(2), 0.5);
    let input = batch(3);
    let mut output = vec![[0.0; 1000]; 3];
    let mut cache = DropoutCache::default();
    layer.forward_batch(&input, &mut output, &mut cache, Mode::Train);
    let grad_output = vec![[1.0f32; 1000]; 3];
    let mut grad_input = vec![[f32::NAN; 1000]; 3];
    let mut grads = Dropout::new(0.5);
    layer.backward_batch(
        &input,
        &output,
        &grad_output,
        Some(&mut grad_input),
        &mut cache,
        &mut grads,
    );
    // y = x * mask, so dL/dx = dL/dy * mask = y / x for a gradient of ones.
    for ((&x, &y), &g) in input
        .as_flattened()
        .iter()
        .zip(output.as_flattened())
        .zip(grad_input.as_flattened())
    {
        assert_eq!(g, y / x);
    }
}

#[test]
fn the_same_seeds_give_the_same_training() {
    let mut rng = nn::Rng::seed(3);
    let inputs: Vec<[f32; 8]> = (0..64)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 3).collect();
    let data = InMemory::new(inputs, labels).unwrap();
    let train = || {
        let mut net = Regularised::init(4);
        let mut opt = Sgd::new(0.1);
        nn::Trainer::new(CrossEntropy)
            .epochs(3)
            .batch_size(16)
            .quiet()
            .fit(&mut net, &mut opt, &data, None)
            .unwrap();
        net.forward(&data.get(0).0).map(f32::to_bits)
    };
    assert_eq!(train(), train());
    assert_eq!(Regularised::NUM_PARAMS, 8 * 16 + 16 + 16 * 3 + 3);
}
