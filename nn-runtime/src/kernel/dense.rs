//! The three products of a fully connected layer on row-major batches, portable: register-blocked
//! micro-kernels specialised on the layer's const sizes, allocation-free (a packing GEMM
//! allocates its buffers on every call), compiled twice: for AVX2+FMA, chosen at run time
//! when the CPU has it, and for the baseline target.
//!
//! `x` is a batch of inputs, `w` the weight in PyTorch's `[OUT][IN]` layout, `y` the outputs
//! and `g` the gradient of the loss with respect to them. Each micro-kernel keeps a block of
//! accumulators of `LANES` values in registers across the whole reduction, so every value
//! loaded from memory feeds several multiply-adds.

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

/// `y[b][o] = bias[o] + dot(x[b], w[o])`: the forward pass.
pub(super) fn linear_forward<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            forward_avx2(x, w, bias, y)
        };
        return;
    }
    forward::<IN, OUT, false>(x, w, bias, y);
}

/// `dx[b] = sum_o g[b][o] * w[o]`: the gradient with respect to the input, overwriting `dx`.
pub(super) fn linear_backward_input<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            backward_input_avx2(g, w, dx)
        };
        return;
    }
    backward_input::<IN, OUT, false>(g, w, dx);
}

/// `dw[o] = sum_b g[b][o] * x[b]` for the output rows `first..first + dw.len()`, overwriting
/// `dw`.
pub(super) fn linear_backward_weight_rows<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe {
            backward_weight_avx2(g, x, first, dw)
        };
        return;
    }
    backward_weight::<IN, OUT, false>(g, x, first, dw);
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn forward_avx2<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    forward::<IN, OUT, true>(x, w, bias, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backward_input_avx2<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
) {
    backward_input::<IN, OUT, true>(g, w, dx);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backward_weight_avx2<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    backward_weight::<IN, OUT, true>(g, x, first, dw);
}

/// Forward in blocks of 4 batch rows x 2 weight rows: 8 dot products share their loads.
#[inline(always)]
fn forward<const IN: usize, const OUT: usize, const FMA: bool>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    let mut x_blocks = x.chunks_exact(4);
    let mut y_blocks = y.chunks_exact_mut(4);
    for (x_block, y_block) in (&mut x_blocks).zip(&mut y_blocks) {
        forward_rows::<IN, OUT, 4, FMA>(x_block, w, bias, y_block);
    }
    forward_rows::<IN, OUT, 1, FMA>(x_blocks.remainder(), w, bias, y_blocks.into_remainder());
}

/// Forward for `x.len()` rows (a multiple of `R`), `R` at a time.
#[inline(always)]
fn forward_rows<const IN: usize, const OUT: usize, const R: usize, const FMA: bool>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    for (x_block, y_block) in x.chunks_exact(R).zip(y.chunks_exact_mut(R)) {
        let xs: [&[f32; IN]; R] = std::array::from_fn(|r| &x_block[r]);
        let mut w_pairs = w.chunks_exact(2);
        let mut o = 0;
        for pair in &mut w_pairs {
            let dots = dot_block::<IN, R, 2, FMA>(xs, [&pair[0], &pair[1]]);
            for (y_row, dot) in y_block.iter_mut().zip(dots) {
                y_row[o] = bias[o] + dot[0];
                y_row[o + 1] = bias[o + 1] + dot[1];
            }
            o += 2;
        }
        if let [last] = w_pairs.remainder() {
            let dots = dot_block::<IN, R, 1, FMA>(xs, [last]);
            for (y_row, dot) in y_block.iter_mut().zip(dots) {
                y_row[o] = bias[o] + dot[0];
            }
        }
    }
}

/// The `R x C` dot products of rows `xs` with rows `ws`, each with `LANES` partial sums so
/// the reduction vectorises (one running sum would serialise on floating-point addition).
#[inline(always)]
fn dot_block<const N: usize, const R: usize, const C: usize, const FMA: bool>(
    xs: [&[f32; N]; R],
    ws: [&[f32; N]; C],
) -> [[f32; C]; R] {
    let mut sums = [[[0.0f32; LANES]; C]; R];
    let chunks = N / LANES;
    for chunk in 0..chunks {
        let start = chunk * LANES;
        let x_chunks: [&[f32; LANES]; R] = std::array::from_fn(|r| xs[r][start..start + LANES].try_into().unwrap());
        let w_chunks: [&[f32; LANES]; C] = std::array::from_fn(|c| ws[c][start..start + LANES].try_into().unwrap());
        for r in 0..R {
            for c in 0..C {
                for lane in 0..LANES {
                    sums[r][c][lane] = madd::<FMA>(x_chunks[r][lane], w_chunks[c][lane], sums[r][c][lane]);
                }
            }
        }
    }
    std::array::from_fn(|r| {
        std::array::from_fn(|c| {
            let tail = (chunks * LANES..N).fold(0.0, |acc, i| madd::<FMA>(xs[r][i], ws[c][i], acc));
            sums[r][c].iter().sum::<f32>() + tail
        })
    })
}

/// Input gradient in blocks of 4 batch rows x `2 * LANES` columns held in registers over the
/// whole sum across outputs.
#[inline(always)]
fn backward_input<const IN: usize, const OUT: usize, const FMA: bool>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
) {
    let mut g_blocks = g.chunks_exact(4);
    let mut dx_blocks = dx.chunks_exact_mut(4);
    for (g_block, dx_block) in (&mut g_blocks).zip(&mut dx_blocks) {
        backward_input_rows::<IN, OUT, 4, FMA>(g_block, w, dx_block);
    }
    backward_input_rows::<IN, OUT, 1, FMA>(g_blocks.remainder(), w, dx_blocks.into_remainder());
}

#[inline(always)]
fn backward_input_rows<const IN: usize, const OUT: usize, const R: usize, const FMA: bool>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
) {
    const WIDTH: usize = 2 * LANES;
    for (g_block, dx_block) in g.chunks_exact(R).zip(dx.chunks_exact_mut(R)) {
        let mut column = 0;
        while column + WIDTH <= IN {
            let mut sums = [[0.0f32; WIDTH]; R];
            for (o, w_row) in w.iter().enumerate() {
                let w_chunk = &w_row[column..column + WIDTH];
                for (sum, g_row) in sums.iter_mut().zip(g_block) {
                    let scale = g_row[o];
                    for lane in 0..WIDTH {
                        sum[lane] = madd::<FMA>(scale, w_chunk[lane], sum[lane]);
                    }
                }
            }
            for (dx_row, sum) in dx_block.iter_mut().zip(&sums) {
                dx_row[column..column + WIDTH].copy_from_slice(sum);
            }
            column += WIDTH;
        }
        for (dx_row, g_row) in dx_block.iter_mut().zip(g_block) {
            for (i, value) in dx_row.iter_mut().enumerate().skip(column) {
                *value = w
                    .iter()
                    .zip(g_row)
                    .fold(0.0, |acc, (w_row, &scale)| madd::<FMA>(scale, w_row[i], acc));
            }
        }
    }
}

/// Weight gradient of output rows `first..first + dw.len()` in blocks of 4 output rows x
/// `2 * LANES` columns held in registers over the whole sum across the batch.
#[inline(always)]
fn backward_weight<const IN: usize, const OUT: usize, const FMA: bool>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    let mut dw_blocks = dw.chunks_exact_mut(4);
    let mut o = first;
    for dw_block in &mut dw_blocks {
        backward_weight_rows::<IN, OUT, 4, FMA>(g, x, o, dw_block);
        o += 4;
    }
    for dw_row in dw_blocks.into_remainder() {
        backward_weight_rows::<IN, OUT, 1, FMA>(g, x, o, std::slice::from_mut(dw_row));
        o += 1;
    }
}

/// `dw[first + r] = sum_b g[b][first + r] * x[b]` for the `R` rows of `dw_block`.
#[inline(always)]
fn backward_weight_rows<const IN: usize, const OUT: usize, const R: usize, const FMA: bool>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw_block: &mut [[f32; IN]],
) {
    const WIDTH: usize = 2 * LANES;
    let mut column = 0;
    while column + WIDTH <= IN {
        let mut sums = [[0.0f32; WIDTH]; R];
        for (g_row, x_row) in g.iter().zip(x) {
            let x_chunk = &x_row[column..column + WIDTH];
            for (r, sum) in sums.iter_mut().enumerate() {
                let scale = g_row[first + r];
                for lane in 0..WIDTH {
                    sum[lane] = madd::<FMA>(scale, x_chunk[lane], sum[lane]);
                }
            }
        }
        for (dw_row, sum) in dw_block.iter_mut().zip(&sums) {
            dw_row[column..column + WIDTH].copy_from_slice(sum);
        }
        column += WIDTH;
    }
    for (r, dw_row) in dw_block.iter_mut().enumerate() {
        for (i, value) in dw_row.iter_mut().enumerate().skip(column) {
            *value = g
                .iter()
                .zip(x)
                .fold(0.0, |acc, (g_row, x_row)| madd::<FMA>(g_row[first + r], x_row[i], acc));
        }
    }
}
