//! The convolution kernels allocate nothing after their first call, on one thread or several
//! (the calling thread's allocations; a counting allocator proves it). A binary of its own, so
//! that no other test changes the thread count (which spawns workers) meanwhile.

mod common;

use common::alloc::{allocations_during, CountingAllocator};
use nn::Rng;
use nn_runtime::kernel::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvShape};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn values(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

#[test]
fn calls_after_the_first_do_not_allocate() {
    nn::set_num_threads(2);
    let shapes = [
        ConvShape::new(1, 6, 5, 1, 2, 28, 28),
        ConvShape::new(6, 16, 5, 1, 0, 14, 14),
        ConvShape::new(3, 10, 3, 2, 1, 17, 15),
    ];
    for shape in shapes {
        let batch = 64;
        let mut rng = Rng::seed(1);
        let input = values(&mut rng, batch * shape.input_len());
        let grad_output = values(&mut rng, batch * shape.output_len());
        let weight = values(&mut rng, shape.weight_len());
        let bias = values(&mut rng, shape.out_channels);
        let mut output = vec![0.0; grad_output.len()];
        let mut grad_input = vec![0.0; input.len()];
        let mut grad_weight = vec![0.0; weight.len()];
        let mut grad_bias = vec![0.0; bias.len()];
        let mut step = |samples: usize| {
            let (x, g) = (samples * shape.input_len(), samples * shape.output_len());
            conv2d_forward(&shape, &input[..x], &weight, &bias, &mut output[..g]);
            conv2d_backward_input(&shape, &grad_output[..g], &weight, &mut grad_input[..x]);
            conv2d_backward_weight(&shape, &grad_output[..g], &input[..x], &mut grad_weight, &mut grad_bias);
        };
        step(batch);
        let later = allocations_during(|| {
            step(batch);
            step(batch);
            step(13);
        });
        assert_eq!(later, 0, "{shape:?}: calls after the first allocated {later} times");
    }
}
