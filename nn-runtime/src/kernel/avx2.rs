//! AVX2+FMA micro-kernels for the three Linear products (called only when the CPU has AVX2 and
//! FMA, checked at run time by the caller), the 8-lane counterpart of `avx512.rs`.
//!
//! Every output value is computed by the same sequence of operations whatever block, batch size
//! or thread it falls in, so a batch split across threads gives bit-identical values:
//!
//! - broadcast micro-kernels (forward against a transposed weight, input gradient, weight
//!   gradient): a scalar of one operand times `C` vectors of 8 consecutive columns of the
//!   other, `R` rows at a time, `R x C` accumulators (6 x 2 = 12 of the 16 registers; a last
//!   block of fewer rows gets more columns). Each value is one chain of fused multiply-adds in
//!   increasing order of the reduction index, from zero (gradients) or from the bias (forward);
//!   long reductions are cut into chunks whose sums continue from memory (the same chain, so
//!   the same bits). The forward first transposes the weight into panels of 8 outputs, the
//!   weight gradient the output gradient, so that the streamed operand is contiguous.
//! - dot products (forward of fewer than 8 rows, or of long rows): `x` rows against `w` rows,
//!   8 lanes per dot and one chain per lane, the lanes added by the same fixed tree for every
//!   dot, then the bias.
#![allow(unsafe_code)]

use super::array::array_from;
use super::epilogue::Activation;
use std::arch::x86_64::*;

/// f32 values per register.
const L: usize = 8;

/// Eight `-1` then eight `0`: the 8 values from `8 - n` select the first `n` lanes.
static MASK_SOURCE: [i32; 2 * L] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// A mask of the first `n` lanes (`n <= 8`), for masked loads and stores.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn first_lanes(n: usize) -> __m256i {
    debug_assert!(n <= L);
    // SAFETY: `L - n..2L - n` is inside the 16 values.
    unsafe { _mm256_loadu_si256(MASK_SOURCE.as_ptr().add(L - n).cast()) }
}

/// Reduction steps (or batch rows, for the weight gradient) per pass: a panel of that many rows
/// of the streamed operand, 16-24 columns wide, stays in L1 (8-12 KB) while every row block of
/// the other operand uses it.
const CHUNK: usize = 128;

/// Where a product's blocks read and write: the broadcast scalar of row `i` at step `j` is
/// `scale[i * scale_row + j * scale_step]`, the vector of columns `8v..8v + 8` at step `j`
/// starts at `vec[v * vec_vector + j * vec_step]`, and row `i` of the output at
/// `out[i * out_row + column]`.
#[derive(Clone, Copy)]
struct Layout {
    scale: *const f32,
    scale_row: usize,
    scale_step: usize,
    vec: *const f32,
    vec_step: usize,
    vec_vector: usize,
    out: *mut f32,
    out_row: usize,
    /// Columns of the output (and of a `vec` row).
    columns: usize,
    /// The `vec` rows are padded to whole registers, so their last vector is read unmasked.
    padded: bool,
    /// Where the sums start in the first chunk: zero, or a row (read as the output is) added
    /// to every output row (the bias).
    start: Option<*const f32>,
    /// Applied to the sums as the last pass stores them.
    activation: Activation,
    /// Rows laid out as `out`'s (`out_row` apart) that a ReLU produced: the last pass
    /// multiplies each sum by `relu_outputs > 0` (1 or 0), the ReLU's backward.
    relu_outputs: Option<*const f32>,
}

impl Layout {
    /// The layout of both gradients: unpadded rows of `columns` values in `vec` (the weight
    /// or the input) and in `out`, scalars consecutive along a row of `scale`.
    fn rows(scale: *const f32, scale_row: usize, vec: *const f32, out: *mut f32, columns: usize) -> Layout {
        Layout {
            scale,
            scale_row,
            scale_step: 1,
            vec,
            vec_step: columns,
            vec_vector: L,
            out,
            out_row: columns,
            columns,
            padded: false,
            start: None,
            activation: Activation::Identity,
            relu_outputs: None,
        }
    }
}

/// The steps and first value of one block's sums.
struct Pass {
    steps: std::ops::Range<usize>,
    /// Continue from the values in the output (every chunk after the first).
    resume: bool,
    /// The sums are complete after this pass: apply the layout's epilogue.
    last: bool,
}

/// `R` output rows from `row` x `C` vectors from `column`: `out[i][..] (+)= sum_j s(i, j) v(j)`.
/// The last vector holds `last` valid lanes (1 to 8), loaded masked in the loop when `MASKED`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn block<const R: usize, const C: usize, const MASKED: bool>(
    lay: &Layout,
    pass: &Pass,
    row: usize,
    column: usize,
    last: usize,
) {
    let mask = first_lanes(last);
    let partial = last < L;
    // SAFETY (whole function): the caller guarantees that rows `row..row + R` of `scale` and
    // `out`, the steps of `pass` and the columns `column..column + 8 * (C - 1) + last` exist;
    // only the padding of a `padded` `vec` row is read beyond them.
    let out: [*mut f32; R] = array_from(|i| unsafe { lay.out.add((row + i) * lay.out_row + column) });
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    let source: Option<[*const f32; R]> = if pass.resume {
        Some(out.map(<*mut f32>::cast_const))
    } else {
        lay.start.map(|start| [unsafe { start.add(column) }; R])
    };
    if let Some(source) = source {
        for (acc, source) in acc.iter_mut().zip(source) {
            for (c, acc) in acc.iter_mut().enumerate() {
                *acc = unsafe {
                    if c + 1 == C && partial {
                        _mm256_maskload_ps(source.add(c * L), mask)
                    } else {
                        _mm256_loadu_ps(source.add(c * L))
                    }
                };
            }
        }
    }
    let scale: [*const f32; R] = array_from(|i| unsafe { lay.scale.add((row + i) * lay.scale_row) });
    let vec: [*const f32; C] = array_from(|c| unsafe { lay.vec.add((column / L + c) * lay.vec_vector) });
    for j in pass.steps.clone() {
        let offset = j * lay.vec_step;
        let mut v = [_mm256_setzero_ps(); C];
        for (c, v) in v.iter_mut().enumerate() {
            *v = unsafe {
                if MASKED && c + 1 == C {
                    _mm256_maskload_ps(vec[c].add(offset), mask)
                } else {
                    _mm256_loadu_ps(vec[c].add(offset))
                }
            };
        }
        let offset = j * lay.scale_step;
        for (acc, scale) in acc.iter_mut().zip(scale) {
            let s = unsafe { _mm256_broadcast_ss(&*scale.add(offset)) };
            for c in 0..C {
                acc[c] = _mm256_fmadd_ps(s, v[c], acc[c]);
            }
        }
    }
    let zero = _mm256_setzero_ps();
    for (i, (acc, out)) in acc.iter().zip(out).enumerate() {
        for (c, &acc) in acc.iter().enumerate() {
            let masked_lanes = c + 1 == C && partial;
            let acc = if !pass.last {
                acc
            } else if let Some(relu_outputs) = lay.relu_outputs {
                // As `epilogue::relu_gradient`: times 1.0 where the ReLU's output is above
                // zero, else times 0.0.
                let y = unsafe {
                    let y = relu_outputs.add((row + i) * lay.out_row + column + c * L);
                    if masked_lanes {
                        _mm256_maskload_ps(y, mask)
                    } else {
                        _mm256_loadu_ps(y)
                    }
                };
                let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(y, zero);
                _mm256_mul_ps(acc, _mm256_and_ps(positive, _mm256_set1_ps(1.0)))
            } else if lay.activation == Activation::Relu {
                // As `epilogue::relu`: lanes below zero become 0.0; NaN and -0.0 pass.
                _mm256_blendv_ps(acc, zero, _mm256_cmp_ps::<_CMP_LT_OQ>(acc, zero))
            } else {
                acc
            };
            unsafe {
                if masked_lanes {
                    _mm256_maskstore_ps(out.add(c * L), mask, acc);
                } else {
                    _mm256_storeu_ps(out.add(c * L), acc);
                }
            }
        }
    }
}

/// One block of `R` rows whose columns from `column` span `vectors` (1 to `C`) registers.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn block_of<const R: usize, const C: usize>(lay: &Layout, pass: &Pass, row: usize, column: usize, vectors: usize) {
    let end = (column + vectors * L).min(lay.columns);
    let last = end - (column + (vectors - 1) * L);
    let masked = last < L && !lay.padded;
    // `const { .. }` first, so that widths above `C` are never instantiated.
    macro_rules! call {
        ($($v:literal),*) => {
            $(
                if const { $v <= C } && vectors == $v {
                    return if masked {
                        block::<R, $v, true>(lay, pass, row, column, last)
                    } else {
                        block::<R, $v, false>(lay, pass, row, column, last)
                    };
                }
            )*
            unreachable!("{vectors} vectors in a block of {C}");
        };
    }
    call!(1, 2, 3, 4, 5, 6, 7, 8);
}

/// Rows `rows` (a multiple of `R` long) over every column: panels of `C` vectors, all row
/// blocks for one panel (which stays in L1) before the next.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sweep<const R: usize, const C: usize>(lay: &Layout, pass: &Pass, rows: std::ops::Range<usize>) {
    let vectors = lay.columns.div_ceil(L);
    let mut v = 0;
    while v < vectors {
        let width = (vectors - v).min(C);
        for row in rows.clone().step_by(R) {
            block_of::<R, C>(lay, pass, row, v * L, width);
        }
        v += width;
    }
}

/// Rows `rows` (a multiple of `R` long) over every column: for each block of `R` rows, every
/// panel of `C` vectors. The rows' scalars stay in L1 while the panels stream from L2: the order
/// for a streamed operand too large for L1 that every row block reads whole (a transposed
/// weight), where [`sweep`] would read the rows again for every panel.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sweep_rows_outer<const R: usize, const C: usize>(lay: &Layout, pass: &Pass, rows: std::ops::Range<usize>) {
    let vectors = lay.columns.div_ceil(L);
    for row in rows.step_by(R) {
        let mut v = 0;
        while v < vectors {
            let width = (vectors - v).min(C);
            block_of::<R, C>(lay, pass, row, v * L, width);
            v += width;
        }
    }
}

/// Rows per block of the main sweep, and columns (in vectors) per block for each row count.
pub(super) const ROWS: usize = 6;

/// In which order a pass visits its blocks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// [`sweep`]: each panel of columns stays in L1 while every row block passes over it.
    PanelsOuter,
    /// [`sweep_rows_outer`]: each row block stays in L1 while every panel passes over it.
    RowsOuter,
}

/// All `rows` output rows of one pass: blocks of [`ROWS`] rows, then one block of the rest,
/// wider so that it still has 8 to 12 independent accumulators.
#[target_feature(enable = "avx2,fma")]
fn rows_pass(lay: &Layout, pass: &Pass, rows: usize, order: Order) {
    let full = rows / ROWS * ROWS;
    match order {
        Order::PanelsOuter => sweep::<ROWS, 2>(lay, pass, 0..full),
        Order::RowsOuter => sweep_rows_outer::<ROWS, 2>(lay, pass, 0..full),
    }
    match rows - full {
        0 => {}
        1 => sweep::<1, 8>(lay, pass, full..rows),
        2 => sweep::<2, 4>(lay, pass, full..rows),
        3 => sweep::<3, 3>(lay, pass, full..rows),
        4 => sweep::<4, 2>(lay, pass, full..rows),
        _ => sweep::<5, 2>(lay, pass, full..rows),
    }
}

/// Every pass of a product of `steps` reduction steps, [`CHUNK`] at a time, panels outer.
#[target_feature(enable = "avx2,fma")]
fn product(lay: &Layout, rows: usize, steps: usize) {
    product_in(lay, rows, steps, CHUNK, Order::PanelsOuter)
}

/// Every pass of a product of `steps` reduction steps, `chunk` at a time, in `order`.
#[target_feature(enable = "avx2,fma")]
fn product_in(lay: &Layout, rows: usize, steps: usize, chunk: usize, order: Order) {
    if rows == 0 || lay.columns == 0 {
        return;
    }
    if steps == 0 {
        // No step: the start row (or zero) alone.
        let pass = Pass {
            steps: 0..0,
            resume: false,
            last: true,
        };
        return rows_pass(lay, &pass, rows, order);
    }
    // Chunks of equal length (a short last chunk would cost a whole pass of loads and stores).
    let chunk = steps.div_ceil(steps.div_ceil(chunk));
    for first in (0..steps).step_by(chunk) {
        let pass = Pass {
            steps: first..(first + chunk).min(steps),
            resume: first > 0,
            last: first + chunk >= steps,
        };
        rows_pass(lay, &pass, rows, order);
    }
}

/// `OUT` rounded up to whole registers.
pub(super) const fn padded(out: usize) -> usize {
    out.div_ceil(L) * L
}

/// Values of the transposed weight buffer (see [`transpose_bias`]).
pub(super) const fn transposed_len(inputs: usize, outputs: usize) -> usize {
    (inputs + 1) * padded(outputs)
}

/// Transposes the 8 x 8 block in `r` (row `i` in `r[i]`): column `c` ends in `r[c]`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn transpose8(r: &mut [__m256; 8]) {
    let t: [__m256; 8] = array_from(|i| {
        let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
        if i % 2 == 0 {
            _mm256_unpacklo_ps(a, b)
        } else {
            _mm256_unpackhi_ps(a, b)
        }
    });
    // s[4h + j], 128-bit lane l: rows 4h..4h + 4 of column 4l + j.
    let s: [__m256; 8] = array_from(|i| {
        let (h, j) = (i / 4, i % 4);
        let (a, b) = (t[4 * h + j / 2], t[4 * h + j / 2 + 2]);
        if j % 2 == 0 {
            _mm256_shuffle_ps::<0x44>(a, b)
        } else {
            _mm256_shuffle_ps::<0xEE>(a, b)
        }
    });
    for j in 0..4 {
        r[j] = _mm256_permute2f128_ps::<0x20>(s[j], s[4 + j]);
        r[4 + j] = _mm256_permute2f128_ps::<0x31>(s[j], s[4 + j]);
    }
}

/// The transposed weight (`transposed_len` values) is the weight in panels of 8 outputs, then
/// the bias: `wt[(v * IN + k) * 8 + l] = w[8v + l][k]` (zero for `8v + l >= OUT`), and
/// `wt[IN * padded(OUT) + o] = bias[o]`. Each panel is one contiguous stream for the
/// micro-kernels (rows of the plain transpose would lie a power of two apart for the usual
/// widths and share a few cache sets). This writes the bias row: `bias`, then zeros up to a
/// whole register.
pub(super) fn transpose_bias<const OUT: usize>(bias: &[f32; OUT], bias_row: &mut [f32]) {
    bias_row[..OUT].copy_from_slice(bias);
    bias_row[OUT..padded(OUT)].fill(0.0);
}

/// The panels of the transposed weight (see [`transpose_bias`]) from output `first` (a multiple of 8): as many whole panels as
/// `panels` holds.
#[target_feature(enable = "avx2,fma")]
pub(super) fn transpose_panels<const IN: usize, const OUT: usize>(
    w: &[[f32; IN]; OUT],
    first: usize,
    panels: &mut [f32],
) {
    assert!(first.is_multiple_of(L) && panels.len().is_multiple_of(IN * L) && first + panels.len() / IN <= padded(OUT));
    let wt_ptr = panels.as_mut_ptr();
    for o in (0..panels.len() / IN).step_by(L) {
        let rows: [Option<&[f32; IN]>; L] = array_from(|i| w.get(first + o + i));
        // SAFETY: panel `o / 8` holds `IN * 8` values, inside `panels` as asserted.
        let panel = unsafe { wt_ptr.add(o * IN) };
        let mut k = 0;
        while k + L <= IN {
            // SAFETY: `k + 8 <= IN`, inside the rows.
            let mut r = array_from(|i| {
                rows[i].map_or(_mm256_setzero_ps(), |row| unsafe {
                    _mm256_loadu_ps(row.as_ptr().add(k))
                })
            });
            transpose8(&mut r);
            for (i, r) in r.iter().enumerate() {
                // SAFETY: row `k + i < IN` of the panel.
                unsafe { _mm256_storeu_ps(panel.add((k + i) * L), *r) };
            }
            k += L;
        }
        if k < IN {
            let mask = first_lanes(IN - k);
            // SAFETY: the mask keeps the loads inside the rows.
            let mut r = array_from(|i| {
                rows[i].map_or(_mm256_setzero_ps(), |row| unsafe {
                    _mm256_maskload_ps(row.as_ptr().add(k), mask)
                })
            });
            transpose8(&mut r);
            for (i, r) in r.iter().enumerate().take(IN - k) {
                // SAFETY: as above.
                unsafe { _mm256_storeu_ps(panel.add((k + i) * L), *r) };
            }
        }
    }
}

/// `y[b][o] = bias[o] + sum_k x[b][k] * wt[k][o]` (`wt` from [`transpose_panels`] and [`transpose_bias`]): one chain of
/// fused multiply-adds from the bias per value, in order of `k`.
#[target_feature(enable = "avx2,fma")]
pub(super) fn forward_transposed<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    wt: &[f32],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    assert!(wt.len() >= transposed_len(IN, OUT) && x.len() == y.len());
    let width = padded(OUT);
    let lay = Layout {
        scale: x.as_ptr().cast(),
        scale_row: IN,
        scale_step: 1,
        vec: wt.as_ptr(),
        vec_step: L,
        vec_vector: IN * L,
        out: y.as_mut_ptr().cast(),
        out_row: OUT,
        columns: OUT,
        padded: true,
        // SAFETY: the bias row, inside `wt` as asserted.
        start: Some(unsafe { wt.as_ptr().add(IN * width) }),
        activation,
        relu_outputs: None,
    };
    // Each block of rows over the whole weight in one pass: the weight streams from L2 while
    // the rows' scalars stay in L1, where panels outer would read every row again from L2 or L3
    // for each panel.
    product_in(&lay, x.len(), IN, IN.max(1), Order::RowsOuter);
}

/// `dx[b] = sum_o g[b][o] * w[o]`, overwriting `dx`; with `relu_outputs` (the layer's input,
/// which a ReLU produced) each value then masked by the ReLU's backward.
#[target_feature(enable = "avx2,fma")]
pub(super) fn backward_input<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
    relu_outputs: Option<&[[f32; IN]]>,
) {
    assert_eq!(g.len(), dx.len());
    assert!(relu_outputs.is_none_or(|y| y.len() == dx.len()));
    let mut lay = Layout::rows(g.as_ptr().cast(), OUT, w.as_ptr().cast(), dx.as_mut_ptr().cast(), IN);
    lay.relu_outputs = relu_outputs.map(|y| y.as_ptr().cast());
    product(&lay, g.len(), OUT);
}

/// `gt[o * n + b] = g[b][o]` (`n = g.len()`): the output gradient transposed, so that the
/// weight gradient's broadcast scalars of one output row are consecutive.
#[target_feature(enable = "avx2,fma")]
pub(super) fn transpose_gradient<const OUT: usize>(g: &[[f32; OUT]], gt: &mut [f32]) {
    let n = g.len();
    assert!(gt.len() >= OUT * n);
    let gt_ptr = gt.as_mut_ptr();
    let full_b = n / L * L;
    let full_o = OUT / L * L;
    for b in (0..full_b).step_by(L) {
        for o in (0..full_o).step_by(L) {
            // SAFETY: rows `b..b + 8` exist and `o + 8 <= OUT`.
            let mut r: [__m256; L] = array_from(|i| unsafe { _mm256_loadu_ps(g[b + i].as_ptr().add(o)) });
            transpose8(&mut r);
            for (c, r) in r.iter().enumerate() {
                // SAFETY: `(o + c) * n + b + 8 <= OUT * n`.
                unsafe { _mm256_storeu_ps(gt_ptr.add((o + c) * n + b), *r) };
            }
        }
        for o in full_o..OUT {
            for i in 0..L {
                gt[o * n + b + i] = g[b + i][o];
            }
        }
    }
    for (b, row) in g.iter().enumerate().skip(full_b) {
        for (o, &value) in row.iter().enumerate() {
            gt[o * n + b] = value;
        }
    }
}

/// `dw[o] = sum_b g[b][first + o] * x[b]` for the output rows `first..first + dw.len()`,
/// overwriting `dw`; `gt` is the output gradient transposed by [`transpose_gradient`].
#[target_feature(enable = "avx2,fma")]
pub(super) fn backward_weight_rows<const IN: usize, const OUT: usize>(
    gt: &[f32],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    let n = x.len();
    assert!(gt.len() >= OUT * n && first + dw.len() <= OUT);
    // Rows `first..first + dw.len()` of `gt` (read only when `x` is not empty).
    let scale = gt.as_ptr().wrapping_add(first * n);
    let lay = Layout::rows(scale, n, x.as_ptr().cast(), dw.as_mut_ptr().cast(), IN);
    product(&lay, dw.len(), n);
}

/// The 8 sums of the lanes of `v[0..8]`, the sum of `v[i]` in lane `i`; every vector's lanes
/// are added by the same tree, `((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7))`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn reduce8(v: [__m256; 8]) -> __m256 {
    let h01 = _mm256_hadd_ps(v[0], v[1]);
    let h23 = _mm256_hadd_ps(v[2], v[3]);
    let h45 = _mm256_hadd_ps(v[4], v[5]);
    let h67 = _mm256_hadd_ps(v[6], v[7]);
    // Lane i of each 128-bit half: the sum of half a vector (vectors 0-3, then 4-7).
    let q0 = _mm256_hadd_ps(h01, h23);
    let q1 = _mm256_hadd_ps(h45, h67);
    let low = _mm256_permute2f128_ps::<0x20>(q0, q1);
    let high = _mm256_permute2f128_ps::<0x31>(q0, q1);
    _mm256_add_ps(low, high)
}

/// The `R x C` dot products of rows `xs` with rows `ws` (`R * C <= 16`), dot `(r, c)` in
/// `[r][c]`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn dots<const N: usize, const R: usize, const C: usize>(xs: [&[f32; N]; R], ws: [&[f32; N]; C]) -> [[f32; C]; R] {
    const { assert!(R * C <= 16) };
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    let full = N / L;
    for k in 0..full {
        // SAFETY: `k * L + L <= N`, inside the rows.
        let wv: [__m256; C] = array_from(|c| unsafe { _mm256_loadu_ps(ws[c].as_ptr().add(k * L)) });
        for (acc, x) in acc.iter_mut().zip(xs) {
            let xv = unsafe { _mm256_loadu_ps(x.as_ptr().add(k * L)) };
            for c in 0..C {
                acc[c] = _mm256_fmadd_ps(xv, wv[c], acc[c]);
            }
        }
    }
    if !N.is_multiple_of(L) {
        let mask = first_lanes(N % L);
        // SAFETY: masked loads of the `N % L` values left in the rows.
        let wv: [__m256; C] = array_from(|c| unsafe { _mm256_maskload_ps(ws[c].as_ptr().add(full * L), mask) });
        for (acc, x) in acc.iter_mut().zip(xs) {
            let xv = unsafe { _mm256_maskload_ps(x.as_ptr().add(full * L), mask) };
            for c in 0..C {
                acc[c] = _mm256_fmadd_ps(xv, wv[c], acc[c]);
            }
        }
    }
    let mut sums = [[0.0f32; C]; R];
    let mut flat = [0.0f32; 16];
    for group in 0..(R * C).div_ceil(L) {
        let v: [__m256; 8] = array_from(|i| {
            let n = group * L + i;
            if n < R * C {
                acc[n / C][n % C]
            } else {
                _mm256_setzero_ps()
            }
        });
        // SAFETY: `flat` has room for two groups of 8.
        unsafe { _mm256_storeu_ps(flat.as_mut_ptr().add(group * L), reduce8(v)) };
    }
    for (n, &sum) in flat.iter().enumerate().take(R * C) {
        sums[n / C][n % C] = sum;
    }
    sums
}

/// Forward for rows `x` (a block of `R`) against weight rows `outputs`, `C` at a time (the last
/// block repeats the last row, whose extra dots are not stored); bias added after the dot.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn forward_dots_block<const IN: usize, const OUT: usize, const R: usize, const C: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    outputs: std::ops::Range<usize>,
    activation: Activation,
) {
    let xs: [&[f32; IN]; R] = array_from(|r| &x[r]);
    let mut o = outputs.start;
    while o < outputs.end {
        let ws: [&[f32; IN]; C] = array_from(|c| &w[(o + c).min(OUT - 1)]);
        let sums = dots::<IN, R, C>(xs, ws);
        let width = C.min(OUT - o);
        for (y_row, sums) in y.iter_mut().zip(&sums) {
            for c in 0..width {
                y_row[o + c] = activation.apply(sums[c] + bias[o + c]);
            }
        }
        o += C;
    }
}

/// `y[i] = bias[first + i] + dot(x, w[first + i])` for the outputs `first..first + y.len()` of
/// one row: the same dots as [`forward_dots`] gives that row, so a row's outputs may be split
/// across threads.
#[target_feature(enable = "avx2,fma")]
pub(super) fn forward_dots_outputs<const IN: usize, const OUT: usize>(
    x: &[f32; IN],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    first: usize,
    y: &mut [f32],
    activation: Activation,
) {
    assert!(first + y.len() <= OUT);
    let end = first + y.len();
    let mut o = first;
    while o < end {
        let ws: [&[f32; IN]; 8] = array_from(|c| &w[(o + c).min(OUT - 1)]);
        let [sums] = dots::<IN, 1, 8>([x], ws);
        for (c, sum) in sums.iter().enumerate().take(end - o) {
            y[o - first + c] = activation.apply(sum + bias[o + c]);
        }
        o += 8;
    }
}

/// Batch rows the dot-product forward takes together (200 KB of 784 inputs: they stay in L2
/// while every panel of the weight passes over them).
const DOTS_ROW_BLOCK: usize = 64;

/// Weight rows of one panel: a multiple of both block widths (3 and 8), so blocks start where
/// they would without panels and every output is the same dot product. 24 rows of 784 inputs
/// are 75 KB, which stay in L2 while a block of rows passes over them; without panels the whole
/// weight (401 KB for 784x128) was streamed again for every 4 rows, mostly from L3.
const DOTS_PANEL: usize = 24;

/// `y[b][o] = bias[o] + dot(x[b], w[o])` as dot products, for batches too small to repay a
/// transposed weight and for long inputs: 4 rows x 3 weight rows at a time, single rows against
/// 8 weight rows, over blocks of [`DOTS_ROW_BLOCK`] rows and panels of [`DOTS_PANEL`] weight rows.
#[target_feature(enable = "avx2,fma")]
pub(super) fn forward_dots<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    if OUT == 0 {
        return;
    }
    for (x, y) in x.chunks(DOTS_ROW_BLOCK).zip(y.chunks_mut(DOTS_ROW_BLOCK)) {
        for first in (0..OUT).step_by(DOTS_PANEL) {
            let outputs = first..(first + DOTS_PANEL).min(OUT);
            let mut x_blocks = x.chunks_exact(4);
            let mut y_blocks = y.chunks_exact_mut(4);
            for (x_block, y_block) in (&mut x_blocks).zip(&mut y_blocks) {
                forward_dots_block::<IN, OUT, 4, 3>(x_block, w, bias, y_block, outputs.clone(), activation);
            }
            let (x_rest, y_rest) = (x_blocks.remainder(), y_blocks.into_remainder());
            for (x_row, y_row) in x_rest.chunks(1).zip(y_rest.chunks_mut(1)) {
                forward_dots_block::<IN, OUT, 1, 8>(x_row, w, bias, y_row, outputs.clone(), activation);
            }
        }
    }
}
