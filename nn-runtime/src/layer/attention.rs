//! `CausalSelfAttention<D, H>`: causal multi-head self-attention over a sequence `[T, D]`, as
//! `torch.nn.MultiheadAttention(D, H, batch_first=True)` called with a causal mask.
//!
//! The four projections (queries, keys, values, and `out_proj`) run over all `batch * T`
//! positions at once as the batched Linear kernels. The attention itself (scores, softmax,
//! weighted sum), which mixes the positions of one sample only, is split across threads by
//! samples; each sample's arithmetic is the same whatever the split, so the results are
//! bit-identical for any thread count.

use super::{Layer, Linear, Mode, Module};
use crate::aligned::Buffer;
use crate::kernel::{linear_backward_input, linear_backward_weight, linear_forward};
use crate::tensor::prefix_mut;
use crate::threads::{split_rows, split_rows_with};
use crate::AlignedBox;
use crate::Rng;

/// Multiply-adds of attention below which a batch stays on the calling thread: waking a second
/// thread costs about as much as 100k multiply-adds (the Linear kernels' threshold).
const PARALLEL_MIN_MACS: usize = 150_000;

/// Values below which a transpose stays on the calling thread (as for pooling).
const PARALLEL_MIN_COPIES: usize = 32_768;

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
    pub in_proj_weight: AlignedBox<[[[f32; D]; D]; 3]>,
    /// The query, key and value biases: PyTorch's `in_proj_bias` `[3D]`.
    pub in_proj_bias: AlignedBox<[[f32; D]; 3]>,
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
            in_proj_weight: AlignedBox::zeros(),
            in_proj_bias: AlignedBox::zeros(),
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
    queries: Buffer<[[f32; D]; T]>,
    keys: Buffer<[[f32; D]; T]>,
    values: Buffer<[[f32; D]; T]>,
    /// Each sample's keys transposed, `[D][T]`, and its values (for the backward pass).
    keys_transposed: Buffer<[[f32; T]; D]>,
    values_transposed: Buffer<[[f32; T]; D]>,
    /// `probabilities[b][h][t][j]`: how much position `t` of head `h` takes from position `j`
    /// (0 for `j > t`).
    probabilities: Buffer<[[[f32; T]; T]; H]>,
    /// The heads' outputs side by side, the input of `out_proj`.
    context: Buffer<[[f32; D]; T]>,
    grad_context: Buffer<[[f32; D]; T]>,
    /// The gradient with respect to the scaled scores, shaped as `probabilities`.
    grad_scores: Buffer<[[[f32; T]; T]; H]>,
    grad_queries: Buffer<[[f32; D]; T]>,
    grad_keys: Buffer<[[f32; D]; T]>,
    grad_values: Buffer<[[f32; D]; T]>,
    /// One projection's share of the input gradient, before it is added to the others'.
    grad_input_part: Buffer<[[f32; D]; T]>,
}

// By hand: a derive would require `[[f32; D]; T]: Default`, which arrays of more than 32
// values are not.
impl<const D: usize, const H: usize, const T: usize> Default for AttentionCache<D, H, T> {
    fn default() -> Self {
        AttentionCache {
            queries: Buffer::new(),
            keys: Buffer::new(),
            values: Buffer::new(),
            keys_transposed: Buffer::new(),
            values_transposed: Buffer::new(),
            probabilities: Buffer::new(),
            context: Buffer::new(),
            grad_context: Buffer::new(),
            grad_scores: Buffer::new(),
            grad_queries: Buffer::new(),
            grad_keys: Buffer::new(),
            grad_values: Buffer::new(),
            grad_input_part: Buffer::new(),
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
        let mut keys_transposed = [[0.0; T]; D];
        transpose_each(std::slice::from_ref(keys), std::slice::from_mut(&mut keys_transposed));
        let mut context = [[0.0; D]; T];
        attend::<D, H, T>(queries, &keys_transposed, values, &mut context, None);
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
        let keys_transposed = prefix_mut(&mut cache.keys_transposed, batch);
        transpose_each(keys, keys_transposed);
        let keys_transposed = &*keys_transposed;
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
                    attend::<D, H, T>(
                        &queries[b],
                        &keys_transposed[b],
                        &values[b],
                        context,
                        Some(probabilities),
                    );
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
        let values_transposed = prefix_mut(&mut cache.values_transposed, batch);
        transpose_each(values, values_transposed);
        let values_transposed = &*values_transposed;
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
                        &values_transposed[b],
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
                // Split by rows as the products are, so that each thread adds the rows it wrote.
                let part = &*part;
                split_rows(grad_input, 1, D, PARALLEL_MIN_COPIES, |first, sums| {
                    for (sum, part) in sums.iter_mut().zip(&part[first..]) {
                        for (sum, part) in sum.iter_mut().zip(part) {
                            *sum += part;
                        }
                    }
                });
            }
        }
    }
}

/// Defines `$name::<D, H, T>(args)`, which runs `$body` (an `#[inline(always)]` function of
/// the same arguments and a `const FMA: bool`) compiled for the best instruction set of this
/// CPU: AVX-512, AVX2 with FMA, or the baseline target (without fused multiply-adds, which it
/// would have to emulate). The per-sample loops run over vectors of features and of positions,
/// which the compiler makes only as wide as the target allows.
macro_rules! best_instruction_set {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$meta])*
        fn $name<const D: usize, const H: usize, const T: usize>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                fn avx512<const D: usize, const H: usize, const T: usize>($($arg: $ty),*) {
                    $body::<D, H, T, true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2<const D: usize, const H: usize, const T: usize>($($arg: $ty),*) {
                    $body::<D, H, T, true>($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") {
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU supports AVX-512F and AVX-512VL (which imply AVX2 and FMA).
                    return unsafe { avx512::<D, H, T>($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU supports AVX2 and FMA.
                    return unsafe { avx2::<D, H, T>($($arg),*) };
                }
            }
            $body::<D, H, T, false>($($arg),*)
        }
    };
}

/// Writes the transpose of each `[T, D]` matrix of `matrices` (the keys, the values of a sample)
/// to `transposed`, so that the loops over positions read consecutive values.
fn transpose_each<const D: usize, const T: usize>(matrices: &[[[f32; D]; T]], transposed: &mut [[[f32; T]; D]]) {
    split_rows(transposed, 1, T * D, PARALLEL_MIN_COPIES, |first, transposed| {
        for (matrix, transposed) in matrices[first..].iter().zip(transposed) {
            for (t, row) in matrix.iter().enumerate() {
                for (column, &value) in transposed.iter_mut().zip(row) {
                    column[t] = value;
                }
            }
        }
    });
}

/// `a * b + c`, fused into one rounding when compiled for FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `exp(x)` for `x <= 0` (a score minus the row's largest), within `f32::EPSILON` relative
/// (0.68 of it at worst, `tests::exp_is_accurate_for_softmax_arguments`), in
/// operations the compiler vectorises (`f32::exp` is a library call per value, which made the
/// softmax most of the forward pass): `exp(x) = 2^n exp(r)` with `n = round(x / ln 2)` and
/// `|r| <= ln 2 / 2`, `exp(r)` by the minimax polynomial of Cephes' `expf` (Moshier, 1984).
/// Below -87.3 (where `exp` is under 1.2e-38, nothing beside the row's largest term, which is
/// 1) the value is that of -87.3; NaN stays NaN.
#[inline(always)]
fn exp_nonpositive<const FMA: bool>(x: f32) -> f32 {
    /// 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.3 { -87.3 } else { x };
    let shifted = madd::<FMA>(x, std::f32::consts::LOG2_E, ROUND);
    let n = shifted - ROUND;
    // ln 2 in two parts, the first (355/512) exact in 9 bits so that `n` times it is exact,
    // and `x - n ln 2` loses nothing.
    let r = madd::<FMA>(n, -355.0 / 512.0, x);
    let r = madd::<FMA>(n, 2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4;
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = madd::<FMA>(p, r, c);
    }
    let e = madd::<FMA>(p, r * r, r) + 1.0;
    // 2^n from the integer in `shifted`'s low bits: n + 127 in the exponent field.
    let scale = f32::from_bits((shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127)) << 23);
    e * scale
}

/// The largest of `values[..=last]` (NaN ignored, as by `f32::max`), in 8 lanes.
#[inline(always)]
fn max_through<const T: usize>(values: &[f32; T], last: usize) -> f32 {
    let larger = |a: f32, b: f32| if b > a { b } else { a };
    let (chunks, rest) = values.as_chunks::<8>();
    let mut lanes = [f32::NEG_INFINITY; 8];
    for (c, chunk) in chunks.iter().enumerate() {
        for (l, (lane, &v)) in lanes.iter_mut().zip(chunk).enumerate() {
            *lane = larger(*lane, if c * 8 + l <= last { v } else { f32::NEG_INFINITY });
        }
    }
    let [a, b, c, d, e, f, g, h] = lanes;
    let mut max = larger(larger(larger(a, e), larger(b, f)), larger(larger(c, g), larger(d, h)));
    for (i, &v) in rest.iter().enumerate() {
        if chunks.len() * 8 + i <= last {
            max = larger(max, v);
        }
    }
    max
}

/// The sum of `values`, in 8 lanes.
#[inline(always)]
fn lane_sum<const T: usize>(values: &[f32; T]) -> f32 {
    let (chunks, rest) = values.as_chunks::<8>();
    let mut lanes = [0.0f32; 8];
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    let [a, b, c, d, e, f, g, h] = lanes;
    ((a + e) + (b + f)) + ((c + g) + (d + h)) + rest.iter().sum::<f32>()
}

/// Features summed together in registers by [`weighted_rows`]: one AVX-512 vector, two AVX2 ones.
const LANES: usize = 16;

/// `out = sum_{i in positions} weight(i) * rows[i][features]` (`out` has the features' length),
/// `LANES` features at a time in registers, in two sums (even and odd positions) so that each
/// multiply-add need not wait for the one before.
#[inline(always)]
fn weighted_rows<const D: usize, const T: usize, const FMA: bool>(
    out: &mut [f32],
    rows: &[[f32; D]; T],
    features: std::ops::Range<usize>,
    positions: std::ops::Range<usize>,
    weight: impl Fn(usize) -> f32,
) {
    let (chunks, rest) = out.as_chunks_mut::<LANES>();
    let mut feature = features.start;
    for chunk in chunks {
        let row = |i: usize| -> &[f32; LANES] { rows[i][feature..feature + LANES].try_into().unwrap() };
        let (mut even, mut odd) = ([0.0f32; LANES], [0.0f32; LANES]);
        let mut i = positions.start;
        while i + 1 < positions.end {
            let (w_even, w_odd) = (weight(i), weight(i + 1));
            let (x_even, x_odd) = (row(i), row(i + 1));
            for l in 0..LANES {
                even[l] = madd::<FMA>(w_even, x_even[l], even[l]);
                odd[l] = madd::<FMA>(w_odd, x_odd[l], odd[l]);
            }
            i += 2;
        }
        if i < positions.end {
            let (w, x) = (weight(i), row(i));
            for l in 0..LANES {
                even[l] = madd::<FMA>(w, x[l], even[l]);
            }
        }
        for ((out, even), odd) in chunk.iter_mut().zip(even).zip(odd) {
            *out = even + odd;
        }
        feature += LANES;
    }
    for out in rest {
        *out = positions
            .clone()
            .fold(0.0, |sum, i| madd::<FMA>(weight(i), rows[i][feature], sum));
        feature += 1;
    }
}

/// `row[j] = sum_{d in features} a[d] * b_transposed[d][j]` for every position `j`, one vector
/// of `T` positions at a time, in four sums (features `d` by `d mod 4`) so that each
/// multiply-add need not wait for the one before.
#[inline(always)]
fn head_products<const D: usize, const T: usize, const FMA: bool>(
    a: &[f32; D],
    b_transposed: &[[f32; T]; D],
    features: std::ops::Range<usize>,
) -> [f32; T] {
    let (a, b) = (&a[features.clone()], &b_transposed[features]);
    let (a_blocks, a_rest) = a.as_chunks::<4>();
    let (b_blocks, b_rest) = b.as_chunks::<4>();
    let (mut s0, mut s1, mut s2, mut s3) = ([0.0f32; T], [0.0f32; T], [0.0f32; T], [0.0f32; T]);
    for (a, b) in a_blocks.iter().zip(b_blocks) {
        for j in 0..T {
            s0[j] = madd::<FMA>(a[0], b[0][j], s0[j]);
            s1[j] = madd::<FMA>(a[1], b[1][j], s1[j]);
            s2[j] = madd::<FMA>(a[2], b[2][j], s2[j]);
            s3[j] = madd::<FMA>(a[3], b[3][j], s3[j]);
        }
    }
    for (&a, b) in a_rest.iter().zip(b_rest) {
        for j in 0..T {
            s0[j] = madd::<FMA>(a, b[j], s0[j]);
        }
    }
    let mut row = [0.0f32; T];
    for j in 0..T {
        row[j] = (s0[j] + s1[j]) + (s2[j] + s3[j]);
    }
    row
}

best_instruction_set! {
    /// The attention of one sample: for each head `h` and position `t`, the softmax over `j <= t`
    /// of the scaled scores `q[t] . k[j] / sqrt(D / H)` (on the head's features), and the
    /// context `sum_j p[j] v[j]`, written to the head's features of `context[t]`. The
    /// probabilities go to `probabilities` when given (the batched pass keeps them for its
    /// backward pass).
    fn attend(
        queries: &[[f32; D]; T],
        keys_transposed: &[[f32; T]; D],
        values: &[[f32; D]; T],
        context: &mut [[f32; D]; T],
        probabilities: Option<&mut [[[f32; T]; T]; H]>,
    ) => attend_body
}

#[inline(always)]
fn attend_body<const D: usize, const H: usize, const T: usize, const FMA: bool>(
    queries: &[[f32; D]; T],
    keys_transposed: &[[f32; T]; D],
    values: &[[f32; D]; T],
    context: &mut [[f32; D]; T],
    mut probabilities: Option<&mut [[[f32; T]; T]; H]>,
) {
    let head_dim = D / H;
    let scale = 1.0 / (head_dim as f32).sqrt();
    for h in 0..H {
        let features = h * head_dim..(h + 1) * head_dim;
        // Positions in blocks, each step over the block's positions before the next step: a
        // position's softmax is a chain of dependent operations (scores, largest, `exp`, sum),
        // and the chains of a block, independent of each other, overlap instead of waiting one
        // behind the other. (A block, not every position: the rows live on the stack.)
        for first in (0..T).step_by(SOFTMAX_BLOCK) {
            let positions = first..(first + SOFTMAX_BLOCK).min(T);
            let mut rows = [[0.0f32; T]; SOFTMAX_BLOCK];
            let rows = &mut rows[..positions.len()];
            // Scores for every position, later ones included (a whole vector costs no more
            // than part of one); only `0..=t` are read.
            for (t, row) in positions.clone().zip(rows.iter_mut()) {
                *row = head_products::<D, T, FMA>(&queries[t], keys_transposed, features.clone());
            }
            for (t, row) in positions.clone().zip(rows.iter_mut()) {
                // Whole vectors throughout, later positions masked: a loop over `0..=t` would
                // store single values that the next vector load must wait for.
                row.iter_mut().for_each(|score| *score *= scale);
                // The largest score is subtracted before `exp`, so no term overflows.
                let max = max_through(row, t);
                for (j, p) in row.iter_mut().enumerate() {
                    *p = if j <= t { exp_nonpositive::<FMA>(*p - max) } else { 0.0 };
                }
                let inverse = 1.0 / lane_sum(row);
                row.iter_mut().for_each(|p| *p *= inverse);
            }
            for (t, row) in positions.clone().zip(rows.iter()) {
                weighted_rows::<D, T, FMA>(
                    &mut context[t][features.clone()],
                    values,
                    features.clone(),
                    0..t + 1,
                    |j| row[j],
                );
            }
            if let Some(probabilities) = probabilities.as_deref_mut() {
                probabilities[h][positions].copy_from_slice(rows);
            }
        }
    }
}

/// Positions whose softmax [`attend`] computes side by side.
const SOFTMAX_BLOCK: usize = 8;

best_instruction_set! {
    /// The first half of one sample's backward pass through [`attend`]: from the gradient of
    /// the context, the values' gradient `dv[j] = sum_{t >= j} p[t][j] dc[t]` and the scaled
    /// scores' gradient `ds[t][j] = p[t][j] (dc[t] . v[j] - sum_i p[t][i] dc[t] . v[i])` (softmax
    /// backward), times the scale, so that [`attend_backward_queries_keys`] needs no scale.
    fn attend_backward_values(
        values_transposed: &[[f32; T]; D],
        probabilities: &[[[f32; T]; T]; H],
        grad_context: &[[f32; D]; T],
        grad_scores: &mut [[[f32; T]; T]; H],
        grad_values: &mut [[f32; D]; T],
    ) => attend_backward_values_body
}

#[inline(always)]
fn attend_backward_values_body<const D: usize, const H: usize, const T: usize, const FMA: bool>(
    values_transposed: &[[f32; T]; D],
    probabilities: &[[[f32; T]; T]; H],
    grad_context: &[[f32; D]; T],
    grad_scores: &mut [[[f32; T]; T]; H],
    grad_values: &mut [[f32; D]; T],
) {
    let head_dim = D / H;
    let scale = 1.0 / (head_dim as f32).sqrt();
    for (h, (probabilities, grad_scores)) in probabilities.iter().zip(grad_scores).enumerate() {
        let features = h * head_dim..(h + 1) * head_dim;
        for (j, grad_value) in grad_values.iter_mut().enumerate() {
            weighted_rows::<D, T, FMA>(
                &mut grad_value[features.clone()],
                grad_context,
                features.clone(),
                j..T,
                |t| probabilities[t][j],
            );
        }
        for (t, (row, grad_row)) in probabilities.iter().zip(grad_scores).enumerate() {
            // `dc[t] . v[j]` for every position: `p[t][j]` is 0 beyond `t`, so later ones add 0.
            *grad_row = head_products::<D, T, FMA>(&grad_context[t], values_transposed, features.clone());
            let mut products = [0.0f32; T];
            for ((product, &p), &g) in products.iter_mut().zip(row).zip(&*grad_row) {
                *product = p * g;
            }
            let weighted = lane_sum(&products);
            for (grad_p, &p) in grad_row.iter_mut().zip(row) {
                *grad_p = p * (*grad_p - weighted) * scale;
            }
        }
    }
}

best_instruction_set! {
    /// The second half of one sample's backward pass through [`attend`]: from the scores'
    /// gradient (scale included), `dq[t] = sum_{j <= t} ds[t][j] k[j]` and
    /// `dk[j] = sum_{t >= j} ds[t][j] q[t]`.
    fn attend_backward_queries_keys(
        queries: &[[f32; D]; T],
        keys: &[[f32; D]; T],
        grad_scores: &[[[f32; T]; T]; H],
        grad_queries: &mut [[f32; D]; T],
        grad_keys: &mut [[f32; D]; T],
    ) => attend_backward_queries_keys_body
}

#[inline(always)]
fn attend_backward_queries_keys_body<const D: usize, const H: usize, const T: usize, const FMA: bool>(
    queries: &[[f32; D]; T],
    keys: &[[f32; D]; T],
    grad_scores: &[[[f32; T]; T]; H],
    grad_queries: &mut [[f32; D]; T],
    grad_keys: &mut [[f32; D]; T],
) {
    let head_dim = D / H;
    for (h, grad_scores) in grad_scores.iter().enumerate() {
        let features = h * head_dim..(h + 1) * head_dim;
        for (t, grad_query) in grad_queries.iter_mut().enumerate() {
            weighted_rows::<D, T, FMA>(
                &mut grad_query[features.clone()],
                keys,
                features.clone(),
                0..t + 1,
                |j| grad_scores[t][j],
            );
        }
        for (j, grad_key) in grad_keys.iter_mut().enumerate() {
            weighted_rows::<D, T, FMA>(&mut grad_key[features.clone()], queries, features.clone(), j..T, |t| {
                grad_scores[t][j]
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        attend_backward_queries_keys_body, attend_backward_values_body, attend_body, exp_nonpositive, transpose_each,
    };
    use crate::Rng;

    /// The per-sample loops compiled without fused multiply-adds (what CPUs without AVX2+FMA
    /// run) compute what the fused ones compute, up to rounding: the integration tests check
    /// only the fused ones on machines that have them. Head width 6: a remainder after no full
    /// block of [`super::LANES`]; 20: a block and a remainder.
    #[test]
    fn loops_with_and_without_fused_multiply_adds_agree() {
        check_fused_and_unfused::<12, 2, 5>(0);
        check_fused_and_unfused::<40, 2, 7>(1);
    }

    fn check_fused_and_unfused<const D: usize, const H: usize, const T: usize>(seed: u64) {
        let mut rng = Rng::seed(seed);
        let mut random =
            || -> [[f32; D]; T] { std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0))) };
        let (queries, keys, values, grad_context) = (random(), random(), random(), random());
        let mut keys_transposed = [[[0.0; T]; D]];
        let mut values_transposed = [[[0.0; T]; D]];
        transpose_each(&[keys], &mut keys_transposed);
        transpose_each(&[values], &mut values_transposed);
        let results = [false, true].map(|fma| {
            let mut context = [[0.0; D]; T];
            let mut probabilities = [[[0.0; T]; T]; H];
            let mut grad_scores = [[[0.0; T]; T]; H];
            let [mut grad_queries, mut grad_keys, mut grad_values] = [[[0.0; D]; T]; 3];
            let (p, gs) = (&mut probabilities, &mut grad_scores);
            if fma {
                attend_body::<D, H, T, true>(&queries, &keys_transposed[0], &values, &mut context, Some(p));
                attend_backward_values_body::<D, H, T, true>(
                    &values_transposed[0],
                    p,
                    &grad_context,
                    gs,
                    &mut grad_values,
                );
                attend_backward_queries_keys_body::<D, H, T, true>(
                    &queries,
                    &keys,
                    gs,
                    &mut grad_queries,
                    &mut grad_keys,
                );
            } else {
                attend_body::<D, H, T, false>(&queries, &keys_transposed[0], &values, &mut context, Some(p));
                attend_backward_values_body::<D, H, T, false>(
                    &values_transposed[0],
                    p,
                    &grad_context,
                    gs,
                    &mut grad_values,
                );
                attend_backward_queries_keys_body::<D, H, T, false>(
                    &queries,
                    &keys,
                    gs,
                    &mut grad_queries,
                    &mut grad_keys,
                );
            }
            let mut all = context.as_flattened().to_vec();
            for tensor in [grad_queries, grad_keys, grad_values] {
                all.extend_from_slice(tensor.as_flattened());
            }
            all
        });
        for (i, (unfused, fused)) in results[0].iter().zip(&results[1]).enumerate() {
            assert!(
                (unfused - fused).abs() <= 1e-5 * fused.abs().max(1.0),
                "value {i}: {unfused} without FMA, {fused} with"
            );
        }
        // Not vacuous: the gradients are not all zero.
        assert!(results[1].iter().filter(|v| v.abs() > 1e-3).count() > results[1].len() / 2);
    }

    /// Within `f32::EPSILON` relative of `f64::exp` from 0 down to the clamp, with and without
    /// fused multiply-adds; the clamp gives exp(-87.3); NaN stays NaN.
    #[test]
    fn exp_is_accurate_for_softmax_arguments() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.3 * i as f32 / 200_000.0;
            let exact = f64::from(x).exp();
            for value in [exp_nonpositive::<true>(x), exp_nonpositive::<false>(x)] {
                let ulp = f64::from(f32::EPSILON) * exact;
                worst = worst.max((f64::from(value) - exact).abs() / ulp);
            }
        }
        println!("exp: worst error {worst:.3} x f32::EPSILON x exp(x)");
        assert!(worst <= 1.0, "worst error {worst} x f32::EPSILON");
        assert_eq!(exp_nonpositive::<false>(0.0), 1.0);
        assert_eq!(exp_nonpositive::<false>(-1000.0), exp_nonpositive::<false>(-87.3));
        assert_eq!(
            exp_nonpositive::<false>(f32::NEG_INFINITY),
            exp_nonpositive::<false>(-87.3)
        );
        assert!(exp_nonpositive::<false>(f32::NAN).is_nan());
    }
}
