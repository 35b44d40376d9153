//! Batched training of a convolutional network computes what one sample at a time computes:
//! with `CrossEntropy`'s mean over the batch, the gradient of a batch of 64 (the kernels' blocked
//! and threaded paths) equals the mean of the 64 single-sample gradients (their simplest path).
//! The PyTorch parity tests use small batches; this one covers the batch sizes training uses.

use nn::prelude::*;
use nn::train::Workspace;
use nn::Rng;

network! {
    struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

type Image = [[[f32; 28]; 28]; 1];

/// Every parameter of `module`, flat, in `visit_params` order.
fn values(module: &impl Module) -> Vec<f32> {
    let mut all = Vec::new();
    module.visit_params("", &mut |_, _, values| all.extend_from_slice(values));
    all
}

#[test]
fn batch_gradient_is_the_mean_of_sample_gradients() {
    let mut rng = Rng::seed(11);
    let mut net = LeNet::init(5);
    let batch = 64;
    let inputs: Vec<Image> = (0..batch)
        .map(|_| {
            let mut image = [[[0.0f32; 28]; 28]; 1];
            image.flat_mut().iter_mut().for_each(|v| *v = rng.uniform(-1.0, 2.0));
            image
        })
        .collect();
    let labels: Vec<usize> = (0..batch).map(|i| (i * 7) % 10).collect();

    let mut workspace = Workspace::<LeNet, Image, usize>::new();
    workspace.compute_grads(&mut net, &CrossEntropy, &inputs, &labels);
    let batched = values(workspace.grads());

    let mut mean = vec![0.0f64; batched.len()];
    for (input, label) in inputs.iter().zip(&labels) {
        workspace.compute_grads(
            &mut net,
            &CrossEntropy,
            std::slice::from_ref(input),
            std::slice::from_ref(label),
        );
        for (sum, grad) in mean.iter_mut().zip(values(workspace.grads())) {
            *sum += f64::from(grad) / batch as f64;
        }
    }
    let scale = mean.iter().fold(0.0f64, |max, g| max.max(g.abs()));
    let worst = batched
        .iter()
        .zip(&mean)
        .map(|(&b, &m)| (f64::from(b) - m).abs() / scale)
        .fold(0.0f64, f64::max);
    // Summation order differs (f32 sums of 64 terms against an f64 mean): 1e-5 of the largest gradient.
    assert!(
        worst < 1e-5,
        "batch gradient differs from the mean of sample gradients by {worst:e} (relative)"
    );
}
