//! `CausalSelfAttention<D, H>`: causal multi-head self-attention over a sequence `[T, D]`, as
//! `torch.nn.MultiheadAttention(D, H, batch_first=True)` called with a causal mask.
//!
//! The four projections (queries, keys, values, and `out_proj`) run over all `batch * T`
//! positions at once as the batched Linear kernels. The attention itself (scores, softmax,
//! weighted sum), which mixes the positions of one sample only, is split across threads by
//! samples; each sample's arithmetic is the same whatever the split, so the results are
//! bit-identical for any thread count.

use super::{Layer, Linear, Mode, Module};
use crate::kernel::{linear_backward_input, linear_backward_weight, linear_forward};
use crate::tensor::{boxed_zeros, prefix_mut};
use crate::threads::split_rows_with;
use crate::Rng;

/// Multiply-adds of attention below which a batch stays on the calling thread: waking a second
/// thread costs about as much as 100k multiply-adds (the Linear kernels' threshold).
const PARALLEL_MIN_MACS: usize = 150_000;

/// Causal multi-head self-attention over a sequence of `T` positions of `D` features with `H`
/// heads, PyTorch's `nn.MultiheadAttention(D, H, batch_first=True)` called as
/// `attn(x, x, x, attn_mask=torch.triu(torch.ones(T, T, dtype=torch.bool), 1), need_weights=False)[0]`
/// (no dropout): position `t` attends to positions `0..=t` only.
///
/// Each head takes `D / H` of the features; its scores are scaled by `1 / sqrt(D / H)`. An `H`
/// that does not divide `D` is a compile error. The parameters and their `state_dict` keys are
/// PyTorch's: `in_proj_weight` `[3D, D]` (the query, key and value projections stacked),
/// `in_proj_bias` `[3D]`, `out_proj.weight` `[D, D]`, `out_proj.bias` `[D]`.
///
/// ```
/// use nn::prelude::*;
/// let attention = CausalSelfAttention::<8, 2>::init_with(&mut nn::Rng::seed(0));
/// let mut sequence = [[0.5f32; 8]; 3];
/// sequence[0][0] = 1.0;
/// let before = attention.forward(&sequence);
/// // Changing the last position leaves the earlier outputs alone: position t sees only 0..=t.
/// sequence[2][5] = 4.0;
/// let after = attention.forward(&sequence);
/// assert_eq!(before[..2], after[..2]);
/// assert_ne!(before[2], after[2]);
/// ```
#[derive(Clone, PartialEq)]
pub struct CausalSelfAttention<const D: usize, const H: usize> {
    /// The query, key and value projections, in that order, each `[D][D]` (`[out][in]`):
    /// together PyTorch's `in_proj_weight` `[3D, D]`, which is stored the same way.
    pub in_proj_weight: Box<[[[f32; D]; D]; 3]>,
    /// The query, key and value biases: PyTorch's `in_proj_bias` `[3D]`.
    pub in_proj_bias: Box<[[f32; D]; 3]>,
    /// The projection of the concatenated heads back to `D` features (PyTorch's `out_proj`).
    pub out_proj: Linear<D, D>,
    /// Whether training leaves the weights alone ([`Module::set_frozen`]).
    frozen: bool,
}

/// Shows the shapes, not the numbers.
impl<const D: usize, const H: usize> std::fmt::Debug for CausalSelfAttention<D, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CausalSelfAttention<{D}, {H}> {{ in_proj_weight: [{}, {D}], in_proj_bias: [{}], out_proj: {:?} }}",
            3 * D,
            3 * D,
            self.out_proj
        )
    }
}

impl<const D: usize, const H: usize> CausalSelfAttention<D, H> {
    /// The width of each head. Every constructor and pass reads it, so an `H` that does not
    /// divide `D` fails to compile wherever the layer is used.
    const HEAD_DIM: usize = {
        assert!(
            H > 0 && D.is_multiple_of(H),
            "CausalSelfAttention<D, H>: the head count H must divide the width D (each head takes D / H features)"
        );
        D / H
    };
}

impl<const D: usize, const H: usize> Module for CausalSelfAttention<D, H> {
    const NUM_PARAMS: usize = 4 * D * D + 4 * D;

    /// PyTorch's `MultiheadAttention._reset_parameters`: `xavier_uniform_` on `in_proj_weight`
    /// (uniform in `±sqrt(6 / (D + 3D))`, its fans being `D` in and `3D` out), `out_proj.weight`
    /// as a Linear's default (uniform in `±1/sqrt(D)`), both biases zero.
    fn init_with(rng: &mut Rng) -> Self {
        let mut layer = Self::zeros();
        let bound = (6.0 / (4 * D) as f32).sqrt();
        layer
            .in_proj_weight
            .as_flattened_mut()
            .as_flattened_mut()
            .iter_mut()
            .for_each(|w| *w = rng.uniform(-bound, bound));
        let bound = 1.0 / (D as f32).sqrt();
        layer
            .out_proj
            .weight
            .as_flattened_mut()
            .iter_mut()
            .for_each(|w| *w = rng.uniform(-bound, bound));
        layer
    }

    fn zeros() -> Self {
        let _ = Self::HEAD_DIM;
        CausalSelfAttention {
            in_proj_weight: boxed_zeros(),
            in_proj_bias: boxed_zeros(),
            out_proj: Linear::zeros(),
            frozen: false,
        }
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
        visit(
            &format!("{prefix}in_proj_weight"),
            &[3 * D, D],
            self.in_proj_weight.as_flattened().as_flattened(),
        );
        visit(
            &format!("{prefix}in_proj_bias"),
            &[3 * D],
            self.in_proj_bias.as_flattened(),
        );
        self.out_proj.visit_params(&format!("{prefix}out_proj."), visit);
    }

    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
        visit(
            &format!("{prefix}in_proj_weight"),
            &[3 * D, D],
            self.in_proj_weight.as_flattened_mut().as_flattened_mut(),
        );
        visit(
            &format!("{prefix}in_proj_bias"),
            &[3 * D],
            self.in_proj_bias.as_flattened_mut(),
        );
        self.out_proj.visit_params_mut(&format!("{prefix}out_proj."), visit);
    }

    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
        if self.frozen {
            return;
        }
        update(
            self.in_proj_weight.as_flattened_mut().as_flattened_mut(),
            grads.in_proj_weight.as_flattened().as_flattened(),
        );
        update(self.in_proj_bias.as_flattened_mut(), grads.in_proj_bias.as_flattened());
        self.out_proj.zip_params(&grads.out_proj, update);
    }

    fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
    }
}

/// What [`CausalSelfAttention`]'s batched forward pass keeps for its backward pass (the
/// projected queries, keys and values, the attention probabilities, the heads' context before
/// `out_proj`), and the backward pass's own buffers. Every buffer grows on first use and is
/// reused after, so a training step after the first allocates nothing.
pub struct AttentionCache<const D: usize, const H: usize, const T: usize> {
    queries: Vec<[[f32; D]; T]>,
    keys: Vec<[[f32; D]; T]>,
    values: Vec<[[f32; D]; T]>,
    /// `probabilities[b][h][t][j]`: how much position `t` of head `h` takes from position `j`
    /// (0 for `j > t`).
    probabilities: Vec<[[[f32; T]; T]; H]>,
    /// The heads' outputs side by side, the input of `out_proj`.
    context: Vec<[[f32; D]; T]>,
    grad_context: Vec<[[f32; D]; T]>,
    /// The gradient with respect to the scaled scores, shaped as `probabilities`.
    grad_scores: Vec<[[[f32; T]; T]; H]>,
    grad_queries: Vec<[[f32; D]; T]>,
    grad_keys: Vec<[[f32; D]; T]>,
    grad_values: Vec<[[f32; D]; T]>,
    /// One projection's share of the input gradient, before it is added to the others'.
    grad_input_part: Vec<[[f32; D]; T]>,
}

// By hand: a derive would require `[[f32; D]; T]: Default`, which arrays of more than 32
// values are not.
impl<const D: usize, const H: usize, const T: usize> Default for AttentionCache<D, H, T> {
    fn default() -> Self {
        AttentionCache {
            queries: Vec::new(),
            keys: Vec::new(),
            values: Vec::new(),
            probabilities: Vec::new(),
            context: Vec::new(),
            grad_context: Vec::new(),
            grad_scores: Vec::new(),
            grad_queries: Vec::new(),
            grad_keys: Vec::new(),
            grad_values: Vec::new(),
            grad_input_part: Vec::new(),
        }
    }
}

impl<const D: usize, const H: usize, const T: usize> Layer<[[f32; D]; T]> for CausalSelfAttention<D, H> {
    type Output = [[f32; D]; T];
    type Cache = AttentionCache<D, H, T>;

    /// Position by position through the Linear kernels (a single row never needs their
    /// transposed-weight buffer), so that one sample allocates nothing.
    fn forward(&self, input: &[[f32; D]; T]) -> [[f32; D]; T] {
        let _ = Self::HEAD_DIM;
        let mut projected = [[[0.0; D]; T]; 3];
        for (i, projection) in projected.iter_mut().enumerate() {
            for (x, y) in input.iter().zip(projection.iter_mut()) {
                linear_forward(
                    std::slice::from_ref(x),
                    &self.in_proj_weight[i],
                    &self.in_proj_bias[i],
                    std::slice::from_mut(y),
                );
            }
        }
        let [queries, keys, values] = &projected;
        let mut context = [[0.0; D]; T];
        attend::<D, H, T>(queries, keys, values, &mut context, None);
        let mut output = [[0.0; D]; T];
        for (x, y) in context.iter().zip(output.iter_mut()) {
            linear_forward(
                std::slice::from_ref(x),
                &self.out_proj.weight,
                &self.out_proj.bias,
                std::slice::from_mut(y),
            );
        }
        output
    }

    fn forward_batch(
        &self,
        input: &[[[f32; D]; T]],
        output: &mut [[[f32; D]; T]],
        cache: &mut AttentionCache<D, H, T>,
        _mode: Mode,
    ) {
        let _ = Self::HEAD_DIM;
        let batch = input.len();
        let positions = input.as_flattened();
        let queries = prefix_mut(&mut cache.queries, batch);
        let keys = prefix_mut(&mut cache.keys, batch);
        let values = prefix_mut(&mut cache.values, batch);
        for (i, projection) in [&mut *queries, &mut *keys, &mut *values].into_iter().enumerate() {
            linear_forward(
                positions,
                &self.in_proj_weight[i],
                &self.in_proj_bias[i],
                projection.as_flattened_mut(),
            );
        }
        let (queries, keys, values) = (&*queries, &*keys, &*values);
        let probabilities = prefix_mut(&mut cache.probabilities, batch);
        let context = prefix_mut(&mut cache.context, batch);
        split_rows_with(
            probabilities,
            context,
            1,
            T * T * D,
            PARALLEL_MIN_MACS,
            |first, probabilities, context| {
                for (b, (probabilities, context)) in (first..).zip(probabilities.iter_mut().zip(context)) {
                    attend::<D, H, T>(&queries[b], &keys[b], &values[b], context, Some(probabilities));
                }
            },
        );
        linear_forward(
            context.as_flattened(),
            &self.out_proj.weight,
            &self.out_proj.bias,
            output.as_flattened_mut(),
        );
    }

    fn backward_batch(
        &self,
        input: &[[[f32; D]; T]],
        _output: &[[[f32; D]; T]],
        grad_output: &[[[f32; D]; T]],
        grad_input: Option<&mut [[[f32; D]; T]]>,
        cache: &mut AttentionCache<D, H, T>,
        grads: &mut Self,
    ) {
        let batch = input.len();
        let positions = input.as_flattened();
        let grad_output = grad_output.as_flattened();
        let (queries, keys, values) = (&cache.queries[..batch], &cache.keys[..batch], &cache.values[..batch]);
        let (probabilities, context) = (&cache.probabilities[..batch], &cache.context[..batch]);
        // A frozen layer computes no parameter gradient: optimizers skip it anyway.
        if !self.frozen {
            linear_backward_weight(
                grad_output,
                context.as_flattened(),
                &mut grads.out_proj.weight,
                &mut grads.out_proj.bias,
            );
        } else if grad_input.is_none() {
            return;
        }
        let grad_context = prefix_mut(&mut cache.grad_context, batch);
        linear_backward_input(grad_output, &self.out_proj.weight, grad_context.as_flattened_mut());
        let grad_context = &*grad_context;

        // Two passes, because a split hands each thread two output buffers: first what needs
        // the probabilities (the values' gradient and the scores'), then what needs the scores'
        // gradient (the queries' and the keys').
        let grad_scores = prefix_mut(&mut cache.grad_scores, batch);
        let grad_values = prefix_mut(&mut cache.grad_values, batch);
        split_rows_with(
            grad_scores,
            grad_values,
            1,
            T * T * D,
            PARALLEL_MIN_MACS,
            |first, grad_scores, grad_values| {
                for (b, (grad_scores, grad_values)) in (first..).zip(grad_scores.iter_mut().zip(grad_values)) {
                    attend_backward_values::<D, H, T>(
                        &values[b],
                        &probabilities[b],
                        &grad_context[b],
                        grad_scores,
                        grad_values,
                    );
                }
            },
        );
        let grad_scores = &*grad_scores;
        let grad_queries = prefix_mut(&mut cache.grad_queries, batch);
        let grad_keys = prefix_mut(&mut cache.grad_keys, batch);
        split_rows_with(
            grad_queries,
            grad_keys,
            1,
            T * T * D,
            PARALLEL_MIN_MACS,
            |first, grad_queries, grad_keys| {
                for (b, (grad_queries, grad_keys)) in (first..).zip(grad_queries.iter_mut().zip(grad_keys)) {
                    attend_backward_queries_keys::<D, H, T>(
                        &queries[b],
                        &keys[b],
                        &grad_scores[b],
                        grad_queries,
                        grad_keys,
                    );
                }
            },
        );
        let grad_projections = [&*grad_queries, &*grad_keys, &*grad_values];

        if !self.frozen {
            for (i, grad) in grad_projections.iter().enumerate() {
                linear_backward_weight(
                    grad.as_flattened(),
                    positions,
                    &mut grads.in_proj_weight[i],
                    &mut grads.in_proj_bias[i],
                );
            }
        }
        if let Some(grad_input) = grad_input {
            let grad_input = grad_input.as_flattened_mut();
            linear_backward_input(grad_queries.as_flattened(), &self.in_proj_weight[0], grad_input);
            let part = prefix_mut(&mut cache.grad_input_part, batch).as_flattened_mut();
            for (grad, weight) in grad_projections.iter().zip(&*self.in_proj_weight).skip(1) {
                linear_backward_input(grad.as_flattened(), weight, part);
                for (sum, part) in grad_input.iter_mut().zip(&*part) {
                    for (sum, part) in sum.iter_mut().zip(part) {
                        *sum += part;
                    }
                }
            }
        }
    }
}

/// `sum a[i] * b[i]` in 8 independent lanes, which the compiler keeps in vector registers.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a_chunks, a_rest) = a.as_chunks::<8>();
    let (b_chunks, b_rest) = b.as_chunks::<8>();
    let mut lanes = [0.0f32; 8];
    for (a, b) in a_chunks.iter().zip(b_chunks) {
        for ((lane, a), b) in lanes.iter_mut().zip(a).zip(b) {
            *lane += a * b;
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(a, b)| a * b).sum();
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + rest
}

/// `y += a * x`.
#[inline(always)]
fn add_scaled(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The attention of one sample: for each head `h` and position `t`, the softmax over `j <= t`
/// of the scaled scores `q[t] . k[j] / sqrt(D / H)` (on the head's features), and the context
/// `sum_j p[j] v[j]`, written to the head's features of `context[t]`. The probabilities go to
/// `probabilities` when given (the batched pass keeps them for its backward pass).
fn attend<const D: usize, const H: usize, const T: usize>(
    queries: &[[f32; D]; T],
    keys: &[[f32; D]; T],
    values: &[[f32; D]; T],
    context: &mut [[f32; D]; T],
    mut probabilities: Option<&mut [[[f32; T]; T]; H]>,
) {
    let head_dim = D / H;
    let scale = 1.0 / (head_dim as f32).sqrt();
    for h in 0..H {
        let features = h * head_dim..(h + 1) * head_dim;
        for t in 0..T {
            let query = &queries[t][features.clone()];
            let mut row = [0.0f32; T];
            // The largest score is subtracted before `exp`, so no term overflows.
            let mut max = f32::NEG_INFINITY;
            for (score, key) in row[..=t].iter_mut().zip(keys) {
                *score = dot(query, &key[features.clone()]) * scale;
                max = max.max(*score);
            }
            let mut sum = 0.0f32;
            for p in &mut row[..=t] {
                *p = (*p - max).exp();
                sum += *p;
            }
            let inverse = 1.0 / sum;
            row[..=t].iter_mut().for_each(|p| *p *= inverse);
            let out = &mut context[t][features.clone()];
            out.fill(0.0);
            for (&p, value) in row[..=t].iter().zip(values) {
                add_scaled(out, p, &value[features.clone()]);
            }
            if let Some(probabilities) = probabilities.as_deref_mut() {
                probabilities[h][t] = row;
            }
        }
    }
}

/// The first half of one sample's backward pass through [`attend`]: from the gradient of the
/// context, the values' gradient `dv[j] = sum_{t >= j} p[t][j] dc[t]` and the scaled scores'
/// gradient `ds[t][j] = p[t][j] (dc[t] . v[j] - sum_i p[t][i] dc[t] . v[i])` (softmax backward),
/// times the scale, so that [`attend_backward_queries_keys`] needs no scale.
fn attend_backward_values<const D: usize, const H: usize, const T: usize>(
    values: &[[f32; D]; T],
    probabilities: &[[[f32; T]; T]; H],
    grad_context: &[[f32; D]; T],
    grad_scores: &mut [[[f32; T]; T]; H],
    grad_values: &mut [[f32; D]; T],
) {
    let head_dim = D / H;
    let scale = 1.0 / (head_dim as f32).sqrt();
    grad_values.as_flattened_mut().fill(0.0);
    for h in 0..H {
        let features = h * head_dim..(h + 1) * head_dim;
        for t in 0..T {
            let grad = &grad_context[t][features.clone()];
            let row = &probabilities[h][t];
            let mut grad_row = [0.0f32; T];
            let mut weighted = 0.0f32;
            for (j, ((grad_p, &p), value)) in grad_row[..=t].iter_mut().zip(row).zip(values).enumerate() {
                add_scaled(&mut grad_values[j][features.clone()], p, grad);
                *grad_p = dot(grad, &value[features.clone()]);
                weighted += p * *grad_p;
            }
            for (grad_p, &p) in grad_row[..=t].iter_mut().zip(row) {
                *grad_p = p * (*grad_p - weighted) * scale;
            }
            grad_scores[h][t] = grad_row;
        }
    }
}

/// The second half of one sample's backward pass through [`attend`]: from the scores' gradient
/// (scale included), `dq[t] = sum_{j <= t} ds[t][j] k[j]` and `dk[j] = sum_{t >= j} ds[t][j] q[t]`.
fn attend_backward_queries_keys<const D: usize, const H: usize, const T: usize>(
    queries: &[[f32; D]; T],
    keys: &[[f32; D]; T],
    grad_scores: &[[[f32; T]; T]; H],
    grad_queries: &mut [[f32; D]; T],
    grad_keys: &mut [[f32; D]; T],
) {
    let head_dim = D / H;
    grad_queries.as_flattened_mut().fill(0.0);
    grad_keys.as_flattened_mut().fill(0.0);
    for (h, grad_scores) in grad_scores.iter().enumerate() {
        let features = h * head_dim..(h + 1) * head_dim;
        for t in 0..T {
            let query = &queries[t][features.clone()];
            let grad_query = &mut grad_queries[t][features.clone()];
            for ((&grad_s, key), grad_key) in grad_scores[t][..=t].iter().zip(keys).zip(grad_keys.iter_mut()) {
                add_scaled(grad_query, grad_s, &key[features.clone()]);
                add_scaled(&mut grad_key[features.clone()], grad_s, query);
            }
        }
    }
}
