//! The convolution kernels give the same bits with 1, 2 and 3 threads, on batches that are
//! multiples of their blocks and groups and batches that are not.

use nn::Rng;
use nn_runtime::kernel::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvShape};

fn values(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// LeNet-5's two convolutions and a strided, padded one with channels that fill no register.
fn shapes() -> [ConvShape; 3] {
    [
        ConvShape::new(1, 6, 5, 1, 2, 28, 28),
        ConvShape::new(6, 16, 5, 1, 0, 14, 14),
        ConvShape::new(3, 10, 3, 2, 1, 17, 15),
    ]
}

/// The bits of the three products of `shape` on a batch of `batch` random samples.
fn products(shape: &ConvShape, batch: usize) -> Vec<u32> {
    let mut rng = Rng::seed(batch as u64);
    let input = values(&mut rng, batch * shape.input_len());
    let grad_output = values(&mut rng, batch * shape.output_len());
    let weight = values(&mut rng, shape.weight_len());
    let bias = values(&mut rng, shape.out_channels);
    let mut output = vec![0.0; grad_output.len()];
    let mut grad_input = vec![0.0; input.len()];
    let mut grad_weight = vec![0.0; weight.len()];
    let mut grad_bias = vec![0.0; bias.len()];
    conv2d_forward(shape, &input, &weight, &bias, &mut output);
    conv2d_backward_input(shape, &grad_output, &weight, &mut grad_input);
    conv2d_backward_weight(shape, &grad_output, &input, &mut grad_weight, &mut grad_bias);
    [output, grad_input, grad_weight, grad_bias]
        .iter()
        .flatten()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn one_two_and_three_threads_give_the_same_bits() {
    for shape in shapes() {
        for batch in [64, 67, 5, 1] {
            nn::set_num_threads(1);
            let one = products(&shape, batch);
            for threads in [2, 3] {
                nn::set_num_threads(threads);
                assert!(
                    products(&shape, batch) == one,
                    "{shape:?} batch {batch}: {threads} threads differ from 1"
                );
            }
        }
    }
}
