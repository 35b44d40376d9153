//! `network!` applies a `ReLU` between two `Linear` layers inside the Linear kernels (the
//! forward's epilogue, and the next layer's input gradient); the network's batched passes must
//! give exactly the bits of the layers run one by one.

use nn::prelude::*;
use nn::{Mode, Rng};

network! { struct Mlp: [6, 7] => Flatten -> Linear<42, 37> -> ReLU -> Linear<37, 20> -> ReLU -> Linear<20, 5> -> ReLU }

type Image = [[f32; 7]; 6];

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn parameters(net: &Mlp) -> Vec<u32> {
    let mut all = Vec::new();
    net.visit_params("", &mut |_, _, values| all.extend(bits(values)));
    all
}

#[test]
fn fused_batched_passes_give_the_bits_of_the_layers_one_by_one() {
    for threads in [1, 2] {
        nn::set_num_threads(threads);
        for batch in [1, 3, 8, 67, 300] {
            let net = Mlp::init(batch as u64);
            let mut rng = Rng::seed(7);
            let images: Vec<Image> = (0..batch)
                .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0))))
                .collect();
            let grad_output: Vec<[f32; 5]> = (0..batch)
                .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
                .collect();

            // The network as generated.
            let mut output = vec![[0.0; 5]; batch];
            let mut cache = Default::default();
            net.forward_batch(&images, &mut output, &mut cache, Mode::Train);
            let mut grads = Mlp::zeros();
            let mut grad_images = vec![[[0.0; 7]; 6]; batch];
            net.backward_batch(
                &images,
                &output,
                &grad_output,
                Some(&mut grad_images),
                &mut cache,
                &mut grads,
            );

            // The same layers one by one, each with its own batched pass.
            let x0: Vec<[f32; 42]> = images
                .iter()
                .map(|image| *image.as_flattened().as_array().unwrap())
                .collect();
            let (mut a1, mut a2) = (vec![[0.0; 37]; batch], vec![[0.0; 37]; batch]);
            let (mut a3, mut a4) = (vec![[0.0; 20]; batch], vec![[0.0; 20]; batch]);
            let (mut a5, mut a6) = (vec![[0.0; 5]; batch], vec![[0.0; 5]; batch]);
            net.layer_1.forward_batch(&x0, &mut a1, &mut (), Mode::Train);
            net.layer_2.forward_batch(&a1, &mut a2, &mut (), Mode::Train);
            net.layer_3.forward_batch(&a2, &mut a3, &mut (), Mode::Train);
            net.layer_4.forward_batch(&a3, &mut a4, &mut (), Mode::Train);
            net.layer_5.forward_batch(&a4, &mut a5, &mut (), Mode::Train);
            net.layer_6.forward_batch(&a5, &mut a6, &mut (), Mode::Train);
            assert!(
                bits(output.as_flattened()) == bits(a6.as_flattened()),
                "outputs, batch {batch}, {threads} threads"
            );

            let mut separate = Mlp::zeros();
            let (mut g5, mut g4) = (vec![[0.0; 5]; batch], vec![[0.0; 20]; batch]);
            let (mut g3, mut g2) = (vec![[0.0; 20]; batch], vec![[0.0; 37]; batch]);
            let (mut g1, mut g0) = (vec![[0.0; 37]; batch], vec![[0.0; 42]; batch]);
            net.layer_6
                .backward_batch(&a5, &a6, &grad_output, Some(&mut g5), &mut (), &mut separate.layer_6);
            net.layer_5
                .backward_batch(&a4, &a5, &g5, Some(&mut g4), &mut (), &mut separate.layer_5);
            net.layer_4
                .backward_batch(&a3, &a4, &g4, Some(&mut g3), &mut (), &mut separate.layer_4);
            net.layer_3
                .backward_batch(&a2, &a3, &g3, Some(&mut g2), &mut (), &mut separate.layer_3);
            net.layer_2
                .backward_batch(&a1, &a2, &g2, Some(&mut g1), &mut (), &mut separate.layer_2);
            net.layer_1
                .backward_batch(&x0, &a1, &g1, Some(&mut g0), &mut (), &mut separate.layer_1);
            assert!(
                parameters(&grads) == parameters(&separate),
                "gradients, batch {batch}, {threads} threads"
            );
            let flat_input_grads: Vec<f32> = grad_images
                .iter()
                .flat_map(|image| image.as_flattened().to_vec())
                .collect();
            assert!(
                bits(&flat_input_grads) == bits(g0.as_flattened()),
                "input gradients, batch {batch}, {threads} threads"
            );
        }
    }
    nn::set_num_threads(1);
}
