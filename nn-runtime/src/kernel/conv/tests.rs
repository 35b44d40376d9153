//! The kernels against the seven loops of the definition (in f64), and those loops' gradients
//! against finite differences; both the kernels this CPU runs and the portable ones.

use super::*;
use crate::Rng;

fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn to_f64(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// Calls `f([output index, input index, weight index])` for every term of the definition: the
/// seven loops (sample, output channel, output row and column, input channel, kernel row and
/// column), taps in the padding skipped.
fn for_each_term(shape: &ConvShape, batch: usize, mut f: impl FnMut([usize; 3])) {
    let s = shape;
    for b in 0..batch {
        for o in 0..s.out_channels {
            for oy in 0..s.out_height {
                for ox in 0..s.out_width {
                    let out = ((b * s.out_channels + o) * s.out_height + oy) * s.out_width + ox;
                    for c in 0..s.in_channels {
                        for ky in 0..s.kernel {
                            for kx in 0..s.kernel {
                                let iy = (oy * s.stride + ky).wrapping_sub(s.padding);
                                let ix = (ox * s.stride + kx).wrapping_sub(s.padding);
                                if iy >= s.in_height || ix >= s.in_width {
                                    continue;
                                }
                                let input = ((b * s.in_channels + c) * s.in_height + iy) * s.in_width + ix;
                                let weight = ((o * s.in_channels + c) * s.kernel + ky) * s.kernel + kx;
                                f([out, input, weight]);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `output[out] = bias[o] + sum of weight[w] * input[i]` over the terms, in f64.
fn reference_forward(shape: &ConvShape, input: &[f64], weight: &[f64], bias: &[f64]) -> Vec<f64> {
    let batch = input.len() / shape.input_len();
    let mut output = vec![0.0; batch * shape.output_len()];
    for (i, y) in output.iter_mut().enumerate() {
        *y = bias[i / shape.positions() % shape.out_channels];
    }
    for_each_term(shape, batch, |[out, i, w]| output[out] += weight[w] * input[i]);
    output
}

/// The input gradient from the terms: `grad_input[i] += grad_output[out] * weight[w]`.
fn reference_backward_input(shape: &ConvShape, grad_output: &[f64], weight: &[f64], batch: usize) -> Vec<f64> {
    let mut grad_input = vec![0.0; batch * shape.input_len()];
    for_each_term(shape, batch, |[out, i, w]| {
        grad_input[i] += grad_output[out] * weight[w]
    });
    grad_input
}

/// The weight and bias gradients from the terms: `grad_weight[w] += grad_output[out] *
/// input[i]`, `grad_bias[o] = sum of grad_output` over channel `o`.
fn reference_backward_weight(shape: &ConvShape, grad_output: &[f64], input: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let batch = input.len() / shape.input_len();
    let mut grad_weight = vec![0.0; shape.weight_len()];
    for_each_term(shape, batch, |[out, i, w]| {
        grad_weight[w] += grad_output[out] * input[i]
    });
    let mut grad_bias = vec![0.0; shape.out_channels];
    for (i, g) in grad_output.iter().enumerate() {
        grad_bias[i / shape.positions() % shape.out_channels] += g;
    }
    (grad_weight, grad_bias)
}

/// Values agree to f32 rounding of a sum of `terms` products of values below 1.
fn assert_close(actual: &[f32], expected: &[f64], terms: usize, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let tolerance = 1e-6 * (terms as f64).max(1.0);
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!((f64::from(a) - e).abs() <= tolerance, "{what}[{i}]: {a} vs {e}");
    }
}

/// Small shapes covering stride 1 and 2, padding 0, 1 and 2, several channels, odd sizes.
fn small_shapes() -> Vec<ConvShape> {
    vec![
        ConvShape::new(1, 1, 1, 1, 0, 4, 4),
        ConvShape::new(2, 3, 3, 1, 0, 7, 6),
        ConvShape::new(3, 4, 3, 1, 1, 6, 7),
        ConvShape::new(2, 5, 3, 2, 1, 9, 8),
        ConvShape::new(3, 2, 5, 1, 2, 8, 9),
        ConvShape::new(4, 3, 4, 2, 2, 7, 7),
        ConvShape::new(1, 6, 5, 1, 2, 12, 12),
        ConvShape::new(6, 16, 5, 1, 0, 7, 6),
        ConvShape::new(5, 7, 2, 2, 0, 6, 5),
    ]
}

/// The small shapes, LeNet-5's two convolutions, and shapes whose channels, widths and tap
/// counts fall on every side of the kernels' block sizes (6, 8, 12 and 16).
fn shapes() -> Vec<ConvShape> {
    let mut shapes = small_shapes();
    shapes.push(ConvShape::new(1, 6, 5, 1, 2, 28, 28));
    shapes.push(ConvShape::new(6, 16, 5, 1, 0, 14, 14));
    let mut rng = Rng::seed(7);
    for out_channels in [1, 2, 5, 6, 7, 8, 9, 12, 13, 16, 17, 24, 25, 33] {
        let kernel = 1 + rng.below(5);
        let stride = 1 + rng.below(2);
        let padding = rng.below(kernel.min(3));
        let in_channels = 1 + rng.below(4);
        let (height, width) = (kernel + rng.below(12), kernel + rng.below(30));
        shapes.push(ConvShape::new(
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            height,
            width,
        ));
    }
    for width in [5, 8, 9, 12, 16, 17, 20, 24, 25, 33] {
        shapes.push(ConvShape::new(2, 6, 3, 1, 1, 5, width));
        shapes.push(ConvShape::new(3, 16, 3, 1, 0, 6, width));
    }
    shapes
}

struct Case {
    shape: ConvShape,
    batch: usize,
    input: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
    grad_output: Vec<f32>,
}

fn case(shape: ConvShape, batch: usize, seed: u64) -> Case {
    let mut rng = Rng::seed(seed);
    Case {
        input: random(&mut rng, batch * shape.input_len()),
        weight: random(&mut rng, shape.weight_len()),
        bias: random(&mut rng, shape.out_channels),
        grad_output: random(&mut rng, batch * shape.output_len()),
        shape,
        batch,
    }
}

type Forward = fn(&ConvShape, &[f32], &[f32], &[f32], &mut [f32]);
type BackwardInput = fn(&ConvShape, &[f32], &[f32], &mut [f32]);
type BackwardWeight = fn(&ConvShape, &[f32], &[f32], &mut [f32], &mut [f32]);

/// The public functions (the kernels this CPU runs) and the portable ones.
const KERNELS: [(&str, Forward, BackwardInput, BackwardWeight); 2] = [
    ("public", conv2d_forward, conv2d_backward_input, conv2d_backward_weight),
    (
        "portable",
        portable::forward,
        portable::backward_input,
        portable::backward_weight,
    ),
];

#[test]
fn the_kernels_match_the_seven_loops() {
    for (i, shape) in shapes().into_iter().enumerate() {
        // 3 samples, and 9 for two groups of the weight gradient and a partial one.
        for batch in [3, 9] {
            let case = case(shape, batch, i as u64);
            let (input, weight, bias) = (to_f64(&case.input), to_f64(&case.weight), to_f64(&case.bias));
            let grad_output = to_f64(&case.grad_output);
            let forward = reference_forward(&shape, &input, &weight, &bias);
            let backward_input = reference_backward_input(&shape, &grad_output, &weight, batch);
            let (grad_weight, grad_bias) = reference_backward_weight(&shape, &grad_output, &input);
            for (name, forward_kernel, input_kernel, weight_kernel) in KERNELS {
                let what = |product: &str| format!("{name} {product} {shape:?} batch {batch}");
                let mut output = vec![f32::NAN; batch * shape.output_len()];
                forward_kernel(&shape, &case.input, &case.weight, &case.bias, &mut output);
                assert_close(&output, &forward, shape.patch_len(), &what("forward"));

                let mut dx = vec![f32::NAN; case.input.len()];
                input_kernel(&shape, &case.grad_output, &case.weight, &mut dx);
                assert_close(&dx, &backward_input, shape.weight_len(), &what("input gradient"));

                let (mut dw, mut db) = (vec![f32::NAN; shape.weight_len()], vec![f32::NAN; shape.out_channels]);
                weight_kernel(&shape, &case.grad_output, &case.input, &mut dw, &mut db);
                let terms = batch * shape.positions();
                assert_close(&dw, &grad_weight, terms, &what("weight gradient"));
                assert_close(&db, &grad_bias, terms, &what("bias gradient"));
            }
        }
    }
}

/// Both AVX2 kernels of the forward pass and of the weight gradient on every shape (the public
/// functions run the one that suits the shape), where the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[test]
fn both_avx2_variants_match_the_seven_loops() {
    if !has_avx2_fma() {
        return;
    }
    for (i, shape) in shapes().into_iter().enumerate() {
        let batch = 5;
        let case = case(shape, batch, 1000 + i as u64);
        let (input, weight, bias) = (to_f64(&case.input), to_f64(&case.weight), to_f64(&case.bias));
        let forward = reference_forward(&shape, &input, &weight, &bias);
        let (grad_weight, grad_bias) = reference_backward_weight(&shape, &to_f64(&case.grad_output), &input);
        let mut variants: Vec<(&str, Forward, BackwardWeight)> = vec![(
            "channels",
            |s, x, w, b, y| {
                // SAFETY: the CPU supports AVX2 and FMA, checked above.
                unsafe { avx2::forward_channels(s, x, w, b, y) }
            },
            |s, g, x, dw, db| {
                // SAFETY: as above.
                unsafe { avx2::weight_channels(s, g, x, dw, db) }
            },
        )];
        if shape.stride == 1 {
            variants.push((
                "positions",
                |s, x, w, b, y| {
                    // SAFETY: as above.
                    unsafe { avx2::forward_positions(s, x, w, b, y) }
                },
                |s, g, x, dw, db| {
                    // SAFETY: as above.
                    unsafe { avx2::weight_positions(s, g, x, dw, db) }
                },
            ));
        }
        for (name, forward_kernel, weight_kernel) in variants {
            let what = |product: &str| format!("avx2 {name} {product} {shape:?}");
            let mut output = vec![f32::NAN; batch * shape.output_len()];
            forward_kernel(&shape, &case.input, &case.weight, &case.bias, &mut output);
            assert_close(&output, &forward, shape.patch_len(), &what("forward"));
            let (mut dw, mut db) = (vec![f32::NAN; shape.weight_len()], vec![f32::NAN; shape.out_channels]);
            weight_kernel(&shape, &case.grad_output, &case.input, &mut dw, &mut db);
            let terms = batch * shape.positions();
            assert_close(&dw, &grad_weight, terms, &what("weight gradient"));
            assert_close(&db, &grad_bias, terms, &what("bias gradient"));
        }
    }
}

/// `sum(forward(input, weight, bias) * grad_output)` in f64: its derivatives are the
/// gradients the backward functions compute.
fn loss(case: &Case, input: &[f64], weight: &[f64], bias: &[f64]) -> f64 {
    let output = reference_forward(&case.shape, input, weight, bias);
    output
        .iter()
        .zip(&case.grad_output)
        .map(|(y, &g)| y * f64::from(g))
        .sum()
}

/// Central differences of [`loss`] with respect to every value of `values`, which
/// `with(values)` substitutes into the loss. The loss is linear in each value, so a step
/// of 1 is exact up to rounding.
fn finite_differences(values: &[f32], with: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut point = to_f64(values);
    (0..point.len())
        .map(|i| {
            let original = point[i];
            point[i] = original + 1.0;
            let plus = with(&point);
            point[i] = original - 1.0;
            let minus = with(&point);
            point[i] = original;
            (plus - minus) / 2.0
        })
        .collect()
}

#[test]
fn the_gradients_match_finite_differences() {
    for (i, shape) in small_shapes().into_iter().enumerate() {
        let case = case(shape, 3, 100 + i as u64);
        let (input, weight, bias) = (to_f64(&case.input), to_f64(&case.weight), to_f64(&case.bias));
        let terms = shape.output_len() * case.batch;

        let mut grad_input = vec![f32::NAN; case.input.len()];
        conv2d_backward_input(&shape, &case.grad_output, &case.weight, &mut grad_input);
        let expected = finite_differences(&case.input, |x| loss(&case, x, &weight, &bias));
        assert_close(&grad_input, &expected, terms, &format!("input gradient {shape:?}"));

        let mut grad_weight = vec![f32::NAN; case.weight.len()];
        let mut grad_bias = vec![f32::NAN; shape.out_channels];
        conv2d_backward_weight(&shape, &case.grad_output, &case.input, &mut grad_weight, &mut grad_bias);
        let expected = finite_differences(&case.weight, |w| loss(&case, &input, w, &bias));
        assert_close(&grad_weight, &expected, terms, &format!("weight gradient {shape:?}"));
        let expected = finite_differences(&case.bias, |b| loss(&case, &input, &weight, b));
        assert_close(&grad_bias, &expected, terms, &format!("bias gradient {shape:?}"));
    }
}

#[test]
#[should_panic(expected = "conv2d_forward: weight has 3 values, expected 4")]
fn forward_names_a_wrong_length() {
    let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
    conv2d_forward(&shape, &[0.0; 9], &[0.0; 3], &[0.0], &mut [0.0; 4]);
}

#[test]
#[should_panic(expected = "conv2d_backward_input: grad_output has 5 values, expected 4")]
fn backward_input_names_a_wrong_length() {
    let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
    conv2d_backward_input(&shape, &[0.0; 5], &[0.0; 4], &mut [0.0; 9]);
}

#[test]
#[should_panic(expected = "conv2d_backward_weight: output 3x3 does not match")]
fn a_wrong_output_size_is_named() {
    let mut shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
    shape.out_height = 3;
    shape.out_width = 3;
    conv2d_backward_weight(&shape, &[0.0; 9], &[0.0; 9], &mut [0.0; 4], &mut [0.0]);
}

#[test]
#[should_panic(expected = "conv2d_forward: input length 10 is not a whole number of samples of 9 values")]
fn a_partial_sample_is_named() {
    let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
    conv2d_forward(&shape, &[0.0; 10], &[0.0; 4], &[0.0], &mut [0.0; 4]);
}

/// Both AVX2 input gradients (the run kernel, and the forward channel kernel on the flipped
/// weight that the public function takes for stride 1 and whole registers of input channels)
/// on shapes where the second applies, the residual CNN's among them.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[test]
fn both_avx2_input_gradients_match_the_seven_loops() {
    if !has_avx2_fma() {
        return;
    }
    let shapes = [
        ConvShape::new(16, 16, 3, 1, 1, 28, 28),
        ConvShape::new(32, 32, 3, 1, 1, 14, 14),
        ConvShape::new(16, 32, 3, 1, 1, 14, 14),
        ConvShape::new(8, 16, 3, 1, 0, 9, 11),
        ConvShape::new(16, 12, 5, 1, 2, 10, 13),
        ConvShape::new(8, 9, 3, 1, 2, 6, 7),
        ConvShape::new(24, 5, 1, 1, 0, 5, 6),
        ConvShape::new(16, 16, 3, 2, 1, 9, 9),
    ];
    for (i, shape) in shapes.into_iter().enumerate() {
        let batch = 3;
        let case = case(shape, batch, 2000 + i as u64);
        let expected = reference_backward_input(&shape, &to_f64(&case.grad_output), &to_f64(&case.weight), batch);
        let mut dx = vec![f32::NAN; batch * shape.input_len()];
        // SAFETY: the CPU supports AVX2 and FMA, checked above.
        unsafe { avx2::backward_input_runs(&shape, &case.grad_output, &case.weight, &mut dx) };
        assert_close(
            &dx,
            &expected,
            shape.weight_len(),
            &format!("avx2 runs input gradient {shape:?}"),
        );
        let mut dx = vec![f32::NAN; batch * shape.input_len()];
        conv2d_backward_input(&shape, &case.grad_output, &case.weight, &mut dx);
        assert_close(
            &dx,
            &expected,
            shape.weight_len(),
            &format!("public input gradient {shape:?}"),
        );
    }
}
