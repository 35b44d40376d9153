//! The kernels against the seven loops of the definition and finite differences.

use super::*;
use crate::Rng;

fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// The seven loops of the definition, in f64.
fn reference_forward(shape: &ConvShape, input: &[f64], weight: &[f64], bias: &[f64]) -> Vec<f64> {
    let s = shape;
    let batch = input.len() / s.input_len();
    let mut output = vec![0.0; batch * s.output_len()];
    for b in 0..batch {
        for o in 0..s.out_channels {
            for oy in 0..s.out_height {
                for ox in 0..s.out_width {
                    let mut sum = bias[o];
                    for c in 0..s.in_channels {
                        for ky in 0..s.kernel {
                            for kx in 0..s.kernel {
                                let iy = (oy * s.stride + ky) as isize - s.padding as isize;
                                let ix = (ox * s.stride + kx) as isize - s.padding as isize;
                                if iy < 0 || ix < 0 || iy >= s.in_height as isize || ix >= s.in_width as isize {
                                    continue;
                                }
                                let x = input
                                    [((b * s.in_channels + c) * s.in_height + iy as usize) * s.in_width + ix as usize];
                                sum += weight[((o * s.in_channels + c) * s.kernel + ky) * s.kernel + kx] * x;
                            }
                        }
                    }
                    output[((b * s.out_channels + o) * s.out_height + oy) * s.out_width + ox] = sum;
                }
            }
        }
    }
    output
}

fn to_f64(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

fn assert_close(actual: &[f32], expected: &[f64], scale: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (f64::from(a) - e).abs() <= 1e-5 * scale.max(1.0) * e.abs().max(1.0),
            "{what}[{i}]: {a} vs {e}"
        );
    }
}

/// Small shapes covering stride 1 and 2, padding 0, 1 and 2, several channels, odd sizes.
fn shapes() -> Vec<ConvShape> {
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

struct Case {
    shape: ConvShape,
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
    }
}

#[test]
fn forward_matches_the_seven_loops() {
    for (i, shape) in shapes().into_iter().enumerate() {
        let case = case(shape, 3, i as u64);
        let mut output = vec![f32::NAN; 3 * shape.output_len()];
        conv2d_forward(&shape, &case.input, &case.weight, &case.bias, &mut output);
        let expected = reference_forward(&shape, &to_f64(&case.input), &to_f64(&case.weight), &to_f64(&case.bias));
        assert_close(
            &output,
            &expected,
            shape.patch_len() as f64,
            &format!("forward {shape:?}"),
        );
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
fn backward_matches_finite_differences() {
    for (i, shape) in shapes().into_iter().enumerate() {
        let case = case(shape, 3, 100 + i as u64);
        let (input, weight, bias) = (to_f64(&case.input), to_f64(&case.weight), to_f64(&case.bias));
        let scale = (shape.out_channels * shape.positions() * 3) as f64;

        let mut grad_input = vec![f32::NAN; case.input.len()];
        conv2d_backward_input(&shape, &case.grad_output, &case.weight, &mut grad_input);
        let expected = finite_differences(&case.input, |x| loss(&case, x, &weight, &bias));
        assert_close(&grad_input, &expected, scale, &format!("input gradient {shape:?}"));

        let mut grad_weight = vec![f32::NAN; case.weight.len()];
        let mut grad_bias = vec![f32::NAN; shape.out_channels];
        conv2d_backward_weight(&shape, &case.grad_output, &case.input, &mut grad_weight, &mut grad_bias);
        let expected = finite_differences(&case.weight, |w| loss(&case, &input, w, &bias));
        assert_close(&grad_weight, &expected, scale, &format!("weight gradient {shape:?}"));
        let expected = finite_differences(&case.bias, |b| loss(&case, &input, &weight, b));
        assert_close(&grad_bias, &expected, scale, &format!("bias gradient {shape:?}"));
    }
}

#[test]
#[should_panic(expected = "conv2d_forward: weight has 3 values, expected 4")]
fn forward_names_a_wrong_length() {
    let shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
    conv2d_forward(&shape, &[0.0; 9], &[0.0; 3], &[0.0], &mut [0.0; 4]);
}

#[test]
#[should_panic(expected = "conv2d_backward_weight: output 3x3 does not match")]
fn a_wrong_output_size_is_named() {
    let mut shape = ConvShape::new(1, 1, 2, 1, 0, 3, 3);
    shape.out_height = 3;
    shape.out_width = 3;
    conv2d_backward_weight(&shape, &[0.0; 9], &[0.0; 9], &mut [0.0; 4], &mut [0.0]);
}
