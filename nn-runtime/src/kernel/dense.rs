//! The three products of a fully connected layer on row-major batches, portable: register-blocked
//! micro-kernels, allocation-free (a packing GEMM allocates its buffers on every call), compiled
//! twice: for AVX2+FMA, chosen at run time when the CPU has it, and for the baseline target.
//!
//! The entry points are generic over the layer's sizes; the bodies take them at run time, so
//! they are compiled once, in this crate, rather than twice more for every layer shape of every
//! calling crate (they were a quarter of the `mnist` example's LLVM IR).
//!
//! `x` is a batch of inputs, `w` the weight in PyTorch's `[OUT][IN]` layout, `y` the outputs
//! and `g` the gradient of the loss with respect to them. Each micro-kernel keeps a block of
//! accumulators of `LANES` values in registers across the whole reduction, so every value
//! loaded from memory feeds several multiply-adds.

use super::epilogue::{relu_gradient, Activation};
use super::shape::Shape;

/// Values per accumulator: one AVX register of f32 (two SSE registers).
const LANES: usize = 8;

/// `a * b + c`, fused into one rounding when the kernel is compiled for FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `y[b][o] = activation(bias[o] + dot(x[b], w[o]))`: the forward pass.
pub(super) fn linear_forward<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    let shape = Shape::of::<IN, OUT>();
    forward_flat(
        x.as_flattened(),
        w.as_flattened(),
        bias,
        y.as_flattened_mut(),
        shape,
        activation,
    );
}

/// `dx[b] = sum_o g[b][o] * w[o]`: the gradient with respect to the input, overwriting `dx`;
/// with `relu_outputs` (the layer's input, which a ReLU produced) masked by the ReLU's backward.
pub(super) fn linear_backward_input<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
    relu_outputs: Option<&[[f32; IN]]>,
) {
    let relu_outputs = relu_outputs.map(<[[f32; IN]]>::as_flattened);
    let shape = Shape::of::<IN, OUT>();
    backward_input_flat(
        g.as_flattened(),
        w.as_flattened(),
        dx.as_flattened_mut(),
        relu_outputs,
        shape,
    );
}

/// `dw[o] = sum_b g[b][o] * x[b]` for the output rows `first..first + dw.len()`, overwriting
/// `dw`.
pub(super) fn linear_backward_weight_rows<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    backward_weight_flat(
        g.as_flattened(),
        x.as_flattened(),
        first,
        dw.as_flattened_mut(),
        Shape::of::<IN, OUT>(),
    );
}

fn forward_flat(x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], shape: Shape, activation: Activation) {
    if shape.is_empty() {
        // No inputs: every output is its bias.
        for y_row in y.chunks_exact_mut(shape.outputs.max(1)) {
            for (y, &b) in y_row.iter_mut().zip(bias) {
                *y = activation.apply(b);
            }
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            forward_avx2(x, w, bias, y, shape, activation)
        };
        return;
    }
    forward::<false>(x, w, bias, y, shape, activation);
}

fn backward_input_flat(g: &[f32], w: &[f32], dx: &mut [f32], relu_outputs: Option<&[f32]>, shape: Shape) {
    assert!(relu_outputs.is_none_or(|y| y.len() == dx.len()));
    if shape.is_empty() {
        // A sum over no outputs, masked as any other.
        dx.fill(0.0);
        if let Some(y) = relu_outputs {
            dx.iter_mut().zip(y).for_each(|(dx, &y)| *dx = relu_gradient(*dx, y));
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            backward_input_avx2(g, w, dx, relu_outputs, shape)
        };
        return;
    }
    backward_input::<false>(g, w, dx, relu_outputs, shape);
}

fn backward_weight_flat(g: &[f32], x: &[f32], first: usize, dw: &mut [f32], shape: Shape) {
    if shape.is_empty() {
        // No weights.
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            backward_weight_avx2(g, x, first, dw, shape)
        };
        return;
    }
    backward_weight::<false>(g, x, first, dw, shape);
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn forward_avx2(x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], shape: Shape, activation: Activation) {
    forward::<true>(x, w, bias, y, shape, activation);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backward_input_avx2(g: &[f32], w: &[f32], dx: &mut [f32], relu_outputs: Option<&[f32]>, shape: Shape) {
    backward_input::<true>(g, w, dx, relu_outputs, shape);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backward_weight_avx2(g: &[f32], x: &[f32], first: usize, dw: &mut [f32], shape: Shape) {
    backward_weight::<true>(g, x, first, dw, shape);
}

/// Forward in blocks of 4 batch rows x 2 weight rows: 8 dot products share their loads.
#[inline(always)]
fn forward<const FMA: bool>(x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], shape: Shape, activation: Activation) {
    let mut x_blocks = x.chunks_exact(4 * shape.inputs);
    let mut y_blocks = y.chunks_exact_mut(4 * shape.outputs);
    for (x_block, y_block) in (&mut x_blocks).zip(&mut y_blocks) {
        forward_rows::<4, FMA>(x_block, w, bias, y_block, shape, activation);
    }
    forward_rows::<1, FMA>(
        x_blocks.remainder(),
        w,
        bias,
        y_blocks.into_remainder(),
        shape,
        activation,
    );
}

/// Forward for the rows of `x` (a multiple of `R`), `R` at a time.
#[inline(always)]
fn forward_rows<const R: usize, const FMA: bool>(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    shape: Shape,
    activation: Activation,
) {
    let Shape { inputs, outputs } = shape;
    for (x_block, y_block) in x.chunks_exact(R * inputs).zip(y.chunks_exact_mut(R * outputs)) {
        let xs: [&[f32]; R] = std::array::from_fn(|r| &x_block[r * inputs..][..inputs]);
        let mut w_pairs = w.chunks_exact(2 * inputs);
        let mut o = 0;
        for pair in &mut w_pairs {
            let dots = dot_block::<R, 2, FMA>(xs, [&pair[..inputs], &pair[inputs..]], inputs);
            for (y_row, dot) in y_block.chunks_exact_mut(outputs).zip(dots) {
                y_row[o] = activation.apply(bias[o] + dot[0]);
                y_row[o + 1] = activation.apply(bias[o + 1] + dot[1]);
            }
            o += 2;
        }
        if !w_pairs.remainder().is_empty() {
            let dots = dot_block::<R, 1, FMA>(xs, [w_pairs.remainder()], inputs);
            for (y_row, dot) in y_block.chunks_exact_mut(outputs).zip(dots) {
                y_row[o] = activation.apply(bias[o] + dot[0]);
            }
        }
    }
}

/// The `R x C` dot products of rows `xs` with rows `ws` (`n` values each), each with `LANES`
/// partial sums so the reduction vectorises (one running sum would serialise on floating-point
/// addition).
#[inline(always)]
fn dot_block<const R: usize, const C: usize, const FMA: bool>(
    xs: [&[f32]; R],
    ws: [&[f32]; C],
    n: usize,
) -> [[f32; C]; R] {
    let xs = xs.map(|x| &x[..n]);
    let ws = ws.map(|w| &w[..n]);
    let mut sums = [[[0.0f32; LANES]; C]; R];
    let chunks = n / LANES;
    // Whole chunks of `LANES`, every row cut to the same count, so that indexing by `chunk`
    // needs no bounds check in the loop.
    let x_chunks = xs.map(|x| &x.as_chunks::<LANES>().0[..chunks]);
    let w_chunks = ws.map(|w| &w.as_chunks::<LANES>().0[..chunks]);
    for chunk in 0..chunks {
        let xv: [[f32; LANES]; R] = std::array::from_fn(|r| x_chunks[r][chunk]);
        let wv: [[f32; LANES]; C] = std::array::from_fn(|c| w_chunks[c][chunk]);
        for r in 0..R {
            for c in 0..C {
                for lane in 0..LANES {
                    sums[r][c][lane] = madd::<FMA>(xv[r][lane], wv[c][lane], sums[r][c][lane]);
                }
            }
        }
    }
    std::array::from_fn(|r| {
        std::array::from_fn(|c| {
            let tail = (chunks * LANES..n).fold(0.0, |acc, i| madd::<FMA>(xs[r][i], ws[c][i], acc));
            sums[r][c].iter().sum::<f32>() + tail
        })
    })
}

/// Input gradient in blocks of 4 batch rows x `2 * LANES` columns held in registers over the
/// whole sum across outputs.
#[inline(always)]
fn backward_input<const FMA: bool>(g: &[f32], w: &[f32], dx: &mut [f32], relu_outputs: Option<&[f32]>, shape: Shape) {
    let mut g_blocks = g.chunks_exact(4 * shape.outputs);
    let mut dx_blocks = dx.chunks_exact_mut(4 * shape.inputs);
    for (g_block, dx_block) in (&mut g_blocks).zip(&mut dx_blocks) {
        backward_input_rows::<4, FMA>(g_block, w, dx_block, shape);
    }
    backward_input_rows::<1, FMA>(g_blocks.remainder(), w, dx_blocks.into_remainder(), shape);
    // The ReLU's backward, over the rows just computed (still in L1 for a block, in L2 for a
    // part of a product).
    if let Some(y) = relu_outputs {
        dx.iter_mut().zip(y).for_each(|(dx, &y)| *dx = relu_gradient(*dx, y));
    }
}

#[inline(always)]
fn backward_input_rows<const R: usize, const FMA: bool>(g: &[f32], w: &[f32], dx: &mut [f32], shape: Shape) {
    const WIDTH: usize = 2 * LANES;
    let Shape { inputs, outputs } = shape;
    for (g_block, dx_block) in g.chunks_exact(R * outputs).zip(dx.chunks_exact_mut(R * inputs)) {
        let mut column = 0;
        while column + WIDTH <= inputs {
            let mut sums = [[0.0f32; WIDTH]; R];
            for (o, w_row) in w.chunks_exact(inputs).enumerate() {
                let w_chunk: &[f32; WIDTH] = w_row[column..column + WIDTH].try_into().unwrap();
                for (sum, g_row) in sums.iter_mut().zip(g_block.chunks_exact(outputs)) {
                    let scale = g_row[o];
                    for lane in 0..WIDTH {
                        sum[lane] = madd::<FMA>(scale, w_chunk[lane], sum[lane]);
                    }
                }
            }
            for (dx_row, sum) in dx_block.chunks_exact_mut(inputs).zip(&sums) {
                dx_row[column..column + WIDTH].copy_from_slice(sum);
            }
            column += WIDTH;
        }
        for (dx_row, g_row) in dx_block.chunks_exact_mut(inputs).zip(g_block.chunks_exact(outputs)) {
            for (i, value) in dx_row.iter_mut().enumerate().skip(column) {
                *value = w
                    .chunks_exact(inputs)
                    .zip(g_row)
                    .fold(0.0, |acc, (w_row, &scale)| madd::<FMA>(scale, w_row[i], acc));
            }
        }
    }
}

/// Weight gradient of output rows `first..` (as many as `dw` holds) in blocks of 4 output rows
/// x `2 * LANES` columns held in registers over the whole sum across the batch.
#[inline(always)]
fn backward_weight<const FMA: bool>(g: &[f32], x: &[f32], first: usize, dw: &mut [f32], shape: Shape) {
    let mut dw_blocks = dw.chunks_exact_mut(4 * shape.inputs);
    let mut o = first;
    for dw_block in &mut dw_blocks {
        backward_weight_rows::<4, FMA>(g, x, o, dw_block, shape);
        o += 4;
    }
    for dw_row in dw_blocks.into_remainder().chunks_exact_mut(shape.inputs) {
        backward_weight_rows::<1, FMA>(g, x, o, dw_row, shape);
        o += 1;
    }
}

/// `dw[first + r] = sum_b g[b][first + r] * x[b]` for the `R` rows of `dw_block`.
#[inline(always)]
fn backward_weight_rows<const R: usize, const FMA: bool>(
    g: &[f32],
    x: &[f32],
    first: usize,
    dw_block: &mut [f32],
    shape: Shape,
) {
    const WIDTH: usize = 2 * LANES;
    let Shape { inputs, outputs } = shape;
    let mut column = 0;
    while column + WIDTH <= inputs {
        let mut sums = [[0.0f32; WIDTH]; R];
        for (g_row, x_row) in g.chunks_exact(outputs).zip(x.chunks_exact(inputs)) {
            let x_chunk: &[f32; WIDTH] = x_row[column..column + WIDTH].try_into().unwrap();
            for (r, sum) in sums.iter_mut().enumerate() {
                let scale = g_row[first + r];
                for lane in 0..WIDTH {
                    sum[lane] = madd::<FMA>(scale, x_chunk[lane], sum[lane]);
                }
            }
        }
        for (dw_row, sum) in dw_block.chunks_exact_mut(inputs).zip(&sums) {
            dw_row[column..column + WIDTH].copy_from_slice(sum);
        }
        column += WIDTH;
    }
    for (r, dw_row) in dw_block.chunks_exact_mut(inputs).enumerate() {
        for (i, value) in dw_row.iter_mut().enumerate().skip(column) {
            *value = g
                .chunks_exact(outputs)
                .zip(x.chunks_exact(inputs))
                .fold(0.0, |acc, (g_row, x_row)| madd::<FMA>(g_row[first + r], x_row[i], acc));
        }
    }
}
