//! Finite-difference gradient checks of `CausalSelfAttention<D, H>`, by the method of
//! `tests/gradcheck.rs`: an f64 reimplementation of the forward pass written here (PyTorch's
//! `MultiheadAttention` with a causal mask, from its definition), central differences of
//! `L = sum c * y` with random coefficients `c`, for every entry of every parameter and of the
//! input, within the tolerance of `tests/common/gradcheck.rs` (`|a - n| <= 1e-4 * max(|n|,
//! min(1, M))`). Also: position `t` of the output does not depend on later positions, and the
//! results do not depend on the number of threads.
//!
//! Run with `cargo test --test attention_gradcheck -- --nocapture` to see the worst error of
//! each check.

mod common;

use common::gradcheck::{check_layer, dot, linear64, random, random_batch, Layout};
use nn::prelude::*;
use nn::{Mode, Rng};

/// The f64 forward pass on a flat batch of `[t, d]` sequences with `h` heads: per position
/// `q, k, v = in_proj_weight x + in_proj_bias` (split in three), per head and position `i` the
/// softmax over `j <= i` of `q_i . k_j / sqrt(d / h)` on the head's features, the context
/// `sum_j p_j v_j`, then `out_proj`.
fn attention64(layout: &Layout, p: &[f64], x: &[f64], t: usize, d: usize, h: usize) -> Vec<f64> {
    let (w_in, b_in) = (layout.get(p, "in_proj_weight"), layout.get(p, "in_proj_bias"));
    let (w_out, b_out) = (layout.get(p, "out_proj.weight"), layout.get(p, "out_proj.bias"));
    let head_dim = d / h;
    let mut output = Vec::with_capacity(x.len());
    for sample in x.chunks_exact(t * d) {
        let qkv: Vec<Vec<f64>> = sample.chunks_exact(d).map(|x| linear64(w_in, b_in, x)).collect();
        let (q, k, v) = (
            |i: usize| &qkv[i][..d],
            |j: usize| &qkv[j][d..2 * d],
            |j: usize| &qkv[j][2 * d..],
        );
        let mut context = vec![vec![0.0; d]; t];
        for head in 0..h {
            let f = head * head_dim..(head + 1) * head_dim;
            for (i, context) in context.iter_mut().enumerate() {
                let scores: Vec<f64> = (0..=i)
                    .map(|j| dot(&q(i)[f.clone()], &k(j)[f.clone()]) / (head_dim as f64).sqrt())
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (j, s) in scores.iter().enumerate() {
                    let weight = (s - max).exp() / sum;
                    for c in f.clone() {
                        context[c] += weight * v(j)[c];
                    }
                }
            }
        }
        output.extend(context.iter().flat_map(|c| linear64(w_out, b_out, c)));
    }
    output
}

/// A layer with every parameter random, biases included (PyTorch's init zeroes them, which
/// would leave a gradient that ignores them undetected).
fn random_layer<const D: usize, const H: usize>(rng: &mut Rng) -> CausalSelfAttention<D, H> {
    let mut layer = CausalSelfAttention::<D, H>::init_with(rng);
    layer.visit_params_mut("", &mut |_, _, values| {
        values.iter_mut().for_each(|v| *v = rng.uniform(-0.6, 0.6));
    });
    layer
}

/// Every gradient of `CausalSelfAttention<D, H>` on a batch of `batch` sequences of `T`
/// positions, inputs uniform in `[-1, 1)`. Returns the worst scaled error.
fn check<const D: usize, const H: usize, const T: usize>(seed: u64, batch: usize) -> f64 {
    let mut rng = Rng::seed(seed);
    let layer = random_layer::<D, H>(&mut rng);
    let inputs: Vec<[[f32; D]; T]> = random_batch(&mut rng, batch, -1.0, 1.0);
    let name = format!("CausalSelfAttention<{D}, {H}> on [{T}, {D}]");
    check_layer(&name, &layer, &inputs, &mut rng, |l, p, x| {
        attention64(l, p, x, T, D, H)
    })
}

#[test]
fn gradients_of_a_single_position() {
    // T = 1: each position attends to itself only (probability exactly 1), so the query and key
    // projections get no gradient and the values pass straight through.
    let worst = check::<8, 2, 1>(60, 3);
    println!("T = 1: worst scaled error {worst:.3e}");
}

#[test]
fn gradients_where_causality_matters() {
    // Head widths 4 (two heads), 12 (one head: a lane block of 8 and a remainder of 4) and 2
    // (three heads, remainder only), over sequences long enough that the mask cuts most pairs.
    let worst = check::<8, 2, 5>(61, 2)
        .max(check::<12, 1, 4>(62, 2))
        .max(check::<6, 3, 6>(63, 2));
    println!("T > 1: worst scaled error {worst:.3e}");
}

/// Output positions before `t` are bit-for-bit unchanged when the input at position `t`
/// changes (one sample and a batch); position `t` itself changes.
fn check_causality<const D: usize, const H: usize, const T: usize>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let layer = random_layer::<D, H>(&mut rng);
    let inputs: Vec<[[f32; D]; T]> = random_batch(&mut rng, 3, -1.0, 1.0);
    let mut cache = Default::default();
    let mut before = vec![[[0.0; D]; T]; 3];
    layer.forward_batch(&inputs, &mut before, &mut cache, Mode::Train);
    let single_before = layer.forward(&inputs[1]);
    for t in 0..T {
        let mut changed = inputs.clone();
        changed[1][t] = random(&mut rng, -1.0, 1.0);
        let mut after = vec![[[0.0; D]; T]; 3];
        layer.forward_batch(&changed, &mut after, &mut cache, Mode::Train);
        let single = layer.forward(&changed[1]);
        for (what, output, before) in [
            ("forward_batch", &after[1], &before[1]),
            ("forward", &single, &single_before),
        ] {
            assert_eq!(output[..t], before[..t], "{what}: positions before {t} changed");
            assert_ne!(output[t], before[t], "{what}: position {t} did not change");
        }
        // The other samples of the batch are untouched.
        assert_eq!((after[0], after[2]), (before[0], before[2]));
    }
}

#[test]
fn outputs_do_not_depend_on_later_positions() {
    check_causality::<8, 2, 5>(64);
    check_causality::<64, 4, 16>(65);
}

/// Bits of the outputs and of every gradient after a forward and backward pass on `threads`
/// threads.
fn pass_bits(threads: usize) -> Vec<u32> {
    nn::set_num_threads(threads);
    let mut rng = Rng::seed(66);
    let layer = random_layer::<64, 4>(&mut rng);
    // Batch 67: not a multiple of any split.
    let inputs: Vec<[[f32; 64]; 16]> = random_batch(&mut rng, 67, -1.0, 1.0);
    let upstream: Vec<[[f32; 64]; 16]> = random_batch(&mut rng, 67, -1.0, 1.0);
    let (outputs, grads, grad_input) = common::backward(&layer, &inputs, &upstream);
    let mut bits: Vec<u32> = outputs
        .as_flattened()
        .as_flattened()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    bits.extend(grad_input.as_flattened().as_flattened().iter().map(|v| v.to_bits()));
    grads.visit_params("", &mut |_, _, values| bits.extend(values.iter().map(|v| v.to_bits())));
    bits
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let one = pass_bits(1);
    let all = pass_bits(nn::max_threads());
    nn::set_num_threads(nn::max_threads());
    assert!(one == all, "one thread and {} threads differ", nn::max_threads());
}
