//! AVX-512 micro-kernels for the three Linear products (called only when the CPU has AVX-512F,
//! checked at run time by the caller).
//!
//! Every output value is computed by the same sequence of operations whatever block, batch
//! size or thread it falls in: a fused multiply-add per reduction index in increasing order into
//! 16 lanes, then (forward only) the same fixed reduction tree of the 16 lanes. So a batch split
//! across threads, a batch of one and a batch of 1024 give bit-identical values.
//!
//! - forward `y = x W^T + b`: dot products of `x` rows with `w` rows (both contiguous along the
//!   reduction), `R x C = 16` of them in 16 registers, reduced together by a transpose tree;
//! - input gradient `dx = g W` and weight gradient `dW = g^T x`: a broadcast scalar times 4
//!   vectors of 16 consecutive columns, 4 rows at a time (16 accumulators), no reduction.
#![allow(unsafe_code)]

use super::array::array_from;
use super::epilogue::Activation;
use std::arch::x86_64::*;

/// f32 values per register.
const L: usize = 16;

/// The lanes of the last, partial chunk of a row of `n` values (all 16 when `n % 16 == 0`).
const fn tail_mask(n: usize) -> __mmask16 {
    match n % L {
        0 => 0xFFFF,
        r => ((1u32 << r) - 1) as __mmask16,
    }
}

/// Index of the accumulator that ends in position `p` of the reduced vector (and vice versa):
/// the transpose tree below leaves the sum of accumulator `4a + b` in position `4b + a`.
const fn t4(p: usize) -> usize {
    (p % 4) * 4 + p / 4
}

/// The 16 sums of the lanes of `v[0..16]`, the sum of `v[t4(p)]` in position `p`; the lanes of
/// every vector are added in the same order.
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce16(v: [__m512; 16]) -> __m512 {
    // Halves: 128-bit quarters (0 + 2, 1 + 3); vector pairs share a register.
    let mut t = [_mm512_setzero_ps(); 8];
    for j in 0..8 {
        let (a, b) = (v[2 * j], v[2 * j + 1]);
        t[j] = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(a, b), _mm512_shuffle_f32x4::<0xEE>(a, b));
    }
    // Quarters: one 128-bit lane per original vector.
    let mut u = [_mm512_setzero_ps(); 4];
    for j in 0..4 {
        let (a, b) = (t[2 * j], t[2 * j + 1]);
        u[j] = _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(a, b), _mm512_shuffle_f32x4::<0xDD>(a, b));
    }
    // Within 128-bit lanes: pairs, then singles.
    let s0 = _mm512_add_ps(
        _mm512_shuffle_ps::<0x44>(u[0], u[1]),
        _mm512_shuffle_ps::<0xEE>(u[0], u[1]),
    );
    let s1 = _mm512_add_ps(
        _mm512_shuffle_ps::<0x44>(u[2], u[3]),
        _mm512_shuffle_ps::<0xEE>(u[2], u[3]),
    );
    _mm512_add_ps(_mm512_shuffle_ps::<0x88>(s0, s1), _mm512_shuffle_ps::<0xDD>(s0, s1))
}

/// The `R x C` dot products of rows `xs` with rows `ws` (`R * C == 16`), dot `(r, c)` in
/// position `r * C + c` of the result.
#[inline]
#[target_feature(enable = "avx512f")]
fn dots<const N: usize, const R: usize, const C: usize>(xs: [&[f32; N]; R], ws: [&[f32; N]; C]) -> __m512 {
    const { assert!(R * C == 16) };
    let mut acc = [_mm512_setzero_ps(); 16];
    let full = N / L;
    for k in 0..full {
        let mut xv = [_mm512_setzero_ps(); R];
        for r in 0..R {
            // SAFETY: `k * L + L <= N`, in bounds of the row.
            xv[r] = unsafe { _mm512_loadu_ps(xs[r].as_ptr().add(k * L)) };
        }
        for (i, acc) in acc.iter_mut().enumerate() {
            let p = t4(i);
            // SAFETY: as above.
            let wv = unsafe { _mm512_loadu_ps(ws[p % C].as_ptr().add(k * L)) };
            *acc = _mm512_fmadd_ps(xv[p / C], wv, *acc);
        }
    }
    if !N.is_multiple_of(L) {
        let mask = tail_mask(N);
        let mut xv = [_mm512_setzero_ps(); R];
        for r in 0..R {
            // SAFETY: masked load of the `N % L` values left in the row.
            xv[r] = unsafe { _mm512_maskz_loadu_ps(mask, xs[r].as_ptr().add(full * L)) };
        }
        for (i, acc) in acc.iter_mut().enumerate() {
            let p = t4(i);
            // SAFETY: as above.
            let wv = unsafe { _mm512_maskz_loadu_ps(mask, ws[p % C].as_ptr().add(full * L)) };
            *acc = _mm512_fmadd_ps(xv[p / C], wv, *acc);
        }
    }
    reduce16(acc)
}

/// Forward for rows `x` (a block of up to `R` rows, the last repeated to fill it) against the
/// weight rows `outputs`, `C` at a time (the last repeated to fill a block); bias added in the
/// epilogue. Row `r`'s outputs go to `y.row(first_row + r)`.
///
/// # Safety
/// The CPU supports AVX-512F; `y` has rows `first_row..first_row + x.len()`, and no other
/// thread writes the columns `outputs` of those rows while this runs.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn forward_block<const IN: usize, const OUT: usize, const R: usize, const C: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    outputs: std::ops::Range<usize>,
    y: &Outputs,
    first_row: usize,
    activation: Activation,
) {
    let rows = x.len();
    let xs: [&[f32; IN]; R] = array_from(|r| &x[r.min(rows - 1)]);
    let mut o = outputs.start;
    while o < outputs.end {
        let ws: [&[f32; IN]; C] = array_from(|c| &w[(o + c).min(outputs.end - 1)]);
        let mut sums = [0.0f32; L];
        // SAFETY: `sums` holds 16 values.
        unsafe { _mm512_storeu_ps(sums.as_mut_ptr(), dots::<IN, R, C>(xs, ws)) };
        let width = C.min(outputs.end - o);
        for r in 0..rows {
            // SAFETY: row `first_row + r` of `y` exists and its columns `o..o + width` (inside
            // `outputs`, below `OUT`) are this call's to write (the caller's contract).
            let y_row = unsafe { std::slice::from_raw_parts_mut(y.ptr.add((first_row + r) * OUT + o), width) };
            let sums = &sums[r * C..][..width];
            // One loop of fixed length for a whole block, so that it compiles to vectors.
            if let (Ok(y_row), Ok(sums)) = (<&mut [f32; C]>::try_from(&mut *y_row), <&[f32; C]>::try_from(sums)) {
                let bias: &[f32; C] = bias[o..o + C].try_into().expect("C values");
                for c in 0..C {
                    y_row[c] = activation.apply(sums[c] + bias[c]);
                }
            } else {
                for c in 0..width {
                    y_row[c] = activation.apply(sums[c] + bias[o + c]);
                }
            }
        }
        o += C;
    }
}

/// `y[b][o] = activation(bias[o] + dot(x[b], w[o]))` in blocks of 4 rows x 4 outputs; fewer
/// than 4 rows as matrix-vector products against 16 weight rows at a time.
#[target_feature(enable = "avx512f")]
pub(super) fn forward<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    assert_eq!(x.len(), y.len());
    // SAFETY: `y` is borrowed mutably here, so this call writes all of it alone.
    unsafe { forward_columns(x, w, bias, 0..OUT, &Outputs::new(y), activation) }
}

/// [`forward`] for the outputs `outputs` of every row: the same dots for each value, so the
/// outputs of a batch may be split across threads.
///
/// # Safety
/// The CPU supports AVX-512F; `y` has `x.len()` rows, and no other thread writes the columns
/// `outputs` while this runs.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn forward_columns<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    outputs: std::ops::Range<usize>,
    y: &Outputs,
    activation: Activation,
) {
    assert!(x.len() == y.rows && outputs.start <= outputs.end && outputs.end <= OUT);
    if outputs.is_empty() {
        return;
    }
    let full = x.len() / 4 * 4;
    for b in (0..full).step_by(4) {
        // SAFETY: rows `b..b + 4` exist; the caller's contract covers the columns.
        unsafe { forward_block::<IN, OUT, 4, 4>(&x[b..b + 4], w, bias, outputs.clone(), y, b, activation) };
    }
    for b in full..x.len() {
        // SAFETY: as above, for row `b`.
        unsafe { forward_block::<IN, OUT, 1, 16>(&x[b..b + 1], w, bias, outputs.clone(), y, b, activation) };
    }
}

/// `y[i] = bias[first + i] + dot(x, w[first + i])` for the outputs `first..first + y.len()` of
/// one row: the same dots as [`forward`] gives that row, so a row's outputs may be split across
/// threads.
#[target_feature(enable = "avx512f")]
pub(super) fn forward_outputs<const IN: usize, const OUT: usize>(
    x: &[f32; IN],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    first: usize,
    y: &mut [f32],
    activation: Activation,
) {
    let end = first + y.len();
    assert!(end <= OUT);
    let mut o = first;
    while o < end {
        let ws: [&[f32; IN]; 16] = array_from(|c| &w[(o + c).min(OUT - 1)]);
        let mut sums = [0.0f32; L];
        // SAFETY: `sums` holds 16 values.
        unsafe { _mm512_storeu_ps(sums.as_mut_ptr(), dots::<IN, 1, 16>([x], ws)) };
        for (c, sum) in sums.iter().enumerate().take(end - o) {
            y[o - first + c] = activation.apply(sum + bias[o + c]);
        }
        o += L;
    }
}

/// Where a block's `R` rows of sums go: `out[r]`, only the first `valid` rows written; with
/// `relu_outputs` each row multiplied by `relu_outputs[r] > 0` (1 or 0) as it is stored.
struct Destination<const R: usize> {
    out: [*mut f32; R],
    valid: usize,
    relu_outputs: Option<[*const f32; R]>,
}

/// `R` rows of `sum_j s[r][j] * v[j][col..col + 16 * C]`, the shared shape of both gradient
/// products: `scale(r, j)` gives the broadcast scalar, `vec(j)` the row of vectors; `out[r]`
/// receives the columns (only the first `valid` rows are written; the last vector is masked
/// with `last_mask`). With `accumulate` the sums continue from the values in `out` (the same
/// chain of fused multiply-adds as one longer call, so the same bits). With `relu_outputs`,
/// row `r`'s sums are multiplied by `relu_outputs[r] > 0` (1 or 0) as they are stored: the
/// backward of a ReLU whose outputs those are.
#[inline]
#[target_feature(enable = "avx512f")]
fn broadcast_block<const R: usize, const C: usize>(
    steps: usize,
    scale: impl Fn(usize, usize) -> f32,
    vec: impl Fn(usize) -> *const f32,
    last_mask: __mmask16,
    rows: Destination<R>,
    accumulate: bool,
) {
    let Destination {
        out,
        valid,
        relu_outputs,
    } = rows;
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    if accumulate {
        for (r, acc) in acc.iter_mut().enumerate() {
            for (c, acc) in acc.iter_mut().enumerate() {
                let mask = if c + 1 == C { last_mask } else { 0xFFFF };
                // SAFETY: as for the stores below (rows beyond `valid` repeat a valid row).
                *acc = unsafe { _mm512_maskz_loadu_ps(mask, out[r].add(c * L)) };
            }
        }
    }
    for j in 0..steps {
        let base = vec(j);
        let mut v = [_mm512_setzero_ps(); C];
        for (c, v) in v.iter_mut().enumerate() {
            let mask = if c + 1 == C { last_mask } else { 0xFFFF };
            // SAFETY: the caller guarantees `base` points at `16 * C` values, the last chunk
            // in bounds where `last_mask` is set.
            *v = unsafe { _mm512_maskz_loadu_ps(mask, base.add(c * L)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let s = _mm512_set1_ps(scale(r, j));
            for c in 0..C {
                acc[c] = _mm512_fmadd_ps(s, v[c], acc[c]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate().take(valid) {
        for (c, &acc) in acc.iter().enumerate() {
            let mask = if c + 1 == C { last_mask } else { 0xFFFF };
            let acc = match relu_outputs {
                None => acc,
                Some(y) => {
                    // SAFETY: `y[r]` has the columns of `out[r]` (the caller's contract).
                    let y = unsafe { _mm512_maskz_loadu_ps(mask, y[r].add(c * L)) };
                    let positive = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(y, _mm512_setzero_ps());
                    // As `epilogue::relu_gradient`: times 1.0 where `y > 0`, else times 0.0.
                    let factor = _mm512_maskz_mov_ps(positive, _mm512_set1_ps(1.0));
                    _mm512_mul_ps(acc, factor)
                }
            };
            // SAFETY: `out[r]` points at `16 * C` writable values, the last chunk where
            // `last_mask` is set.
            unsafe { _mm512_mask_storeu_ps(out[r].add(c * L), mask, acc) };
        }
    }
}

/// Column blocks of a row of `n` values: `(start, vectors, last_mask)`, 4 vectors at a time,
/// then single vectors (the last one masked).
#[inline]
fn column_blocks(n: usize) -> impl Iterator<Item = (usize, usize, __mmask16)> {
    let wide = n / (4 * L);
    let narrow = (n - wide * 4 * L).div_ceil(L);
    let wide_blocks = (0..wide).map(|i| (i * 4 * L, 4, 0xFFFF));
    let narrow_blocks = (0..narrow).map(move |i| {
        let start = wide * 4 * L + i * L;
        let mask = if start + L <= n { 0xFFFF } else { tail_mask(n) };
        (start, 1, mask)
    });
    wide_blocks.chain(narrow_blocks)
}

/// `dx[b] = sum_o g[b][o] * w[o]`, overwriting `dx`: 4 rows x 64 columns at a time, all rows
/// for one column panel of `w` (which stays in L1) before the next. With `relu_outputs` (the
/// layer's input, which a ReLU produced) each value is then masked by the ReLU's backward.
#[target_feature(enable = "avx512f")]
pub(super) fn backward_input<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
    relu_outputs: Option<&[[f32; IN]]>,
) {
    assert!(relu_outputs.is_none_or(|y| y.len() == dx.len()));
    let rows = g.len();
    let dx_ptr = dx.as_mut_ptr();
    for (col, vectors, mask) in column_blocks(IN) {
        for b in (0..rows).step_by(4) {
            let valid = (rows - b).min(4);
            let g_rows: [&[f32; OUT]; 4] = array_from(|r| &g[(b + r).min(rows - 1)]);
            // SAFETY: rows `b..b + valid` of `dx` exist; columns `col..` are in bounds as
            // `column_blocks` promises. Rows beyond `valid` point at the last row but are not
            // written.
            let out = array_from(|r| unsafe { dx_ptr.add(b + r.min(valid - 1)).cast::<f32>().add(col) });
            let scale = |r: usize, o: usize| g_rows[r][o];
            // SAFETY: `w[o]` has `IN` values, `col..` in bounds as above.
            let vec = |o: usize| unsafe { w.as_ptr().add(o).cast::<f32>().add(col) };
            // SAFETY: the rows of `relu_outputs` are those of `dx` (asserted), same columns.
            let relu = relu_outputs
                .map(|y| array_from(|r| unsafe { y.as_ptr().add(b + r.min(valid - 1)).cast::<f32>().add(col) }));
            let rows = Destination {
                out,
                valid,
                relu_outputs: relu,
            };
            if vectors == 4 {
                broadcast_block::<4, 4>(OUT, scale, vec, mask, rows, false);
            } else {
                broadcast_block::<4, 1>(OUT, scale, vec, mask, rows, false);
            }
        }
    }
}

/// Batch rows per pass of the weight gradient: a 64-column panel of that many `x` rows (32 KB)
/// stays in L1 while every output row uses it.
const BATCH_CHUNK: usize = 128;

/// `dw[o] = sum_b g[b][o] * x[b]` for the output rows `first..first + dw.len()`, overwriting
/// `dw`: 4 output rows x 64 columns at a time, all output rows for one panel of `x` before the
/// next; batches beyond [`BATCH_CHUNK`] rows continue the sums from `dw` (same bits).
#[target_feature(enable = "avx512f")]
pub(super) fn backward_weight_rows<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    let rows = dw.len();
    let dw_ptr = dw.as_mut_ptr();
    for (chunk, (g, x)) in g.chunks(BATCH_CHUNK).zip(x.chunks(BATCH_CHUNK)).enumerate() {
        for (col, vectors, mask) in column_blocks(IN) {
            for o in (0..rows).step_by(4) {
                let valid = (rows - o).min(4);
                let outputs: [usize; 4] = array_from(|r| first + o + r.min(valid - 1));
                // SAFETY: rows `o..o + valid` of `dw` exist, columns as `column_blocks` promises.
                let out = array_from(|r| unsafe { dw_ptr.add(o + r.min(valid - 1)).cast::<f32>().add(col) });
                let scale = |r: usize, b: usize| g[b][outputs[r]];
                // SAFETY: `x[b]` has `IN` values, `col..` in bounds as above.
                let vec = |b: usize| unsafe { x.as_ptr().add(b).cast::<f32>().add(col) };
                let rows = Destination {
                    out,
                    valid,
                    relu_outputs: None,
                };
                if vectors == 4 {
                    broadcast_block::<4, 4>(g.len(), scale, vec, mask, rows, chunk > 0);
                } else {
                    broadcast_block::<4, 1>(g.len(), scale, vec, mask, rows, chunk > 0);
                }
            }
        }
    }
}

/// Transposes the 16 x 16 block in `r` (row `i` in `r[i]`): column `c` ends in `r[c]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose16(r: &mut [__m512; 16]) {
    let mut t = [_mm512_setzero_ps(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // r[4g + j], 128-bit lane l: rows 4g..4g + 4 of column 4l + j.
    for g in 0..4 {
        let (lo, hi) = (t[4 * g], t[4 * g + 1]);
        let (lo2, hi2) = (t[4 * g + 2], t[4 * g + 3]);
        r[4 * g] = _mm512_shuffle_ps::<0x44>(lo, lo2);
        r[4 * g + 1] = _mm512_shuffle_ps::<0xEE>(lo, lo2);
        r[4 * g + 2] = _mm512_shuffle_ps::<0x44>(hi, hi2);
        r[4 * g + 3] = _mm512_shuffle_ps::<0xEE>(hi, hi2);
    }
    let s = *r;
    for j in 0..4 {
        let u0 = _mm512_shuffle_f32x4::<0x44>(s[j], s[4 + j]);
        let u1 = _mm512_shuffle_f32x4::<0xEE>(s[j], s[4 + j]);
        let u2 = _mm512_shuffle_f32x4::<0x44>(s[8 + j], s[12 + j]);
        let u3 = _mm512_shuffle_f32x4::<0xEE>(s[8 + j], s[12 + j]);
        r[j] = _mm512_shuffle_f32x4::<0x88>(u0, u2);
        r[4 + j] = _mm512_shuffle_f32x4::<0xDD>(u0, u2);
        r[8 + j] = _mm512_shuffle_f32x4::<0x88>(u1, u3);
        r[12 + j] = _mm512_shuffle_f32x4::<0xDD>(u1, u3);
    }
}

/// Outputs per panel of the transposed weight: the 4 registers of a block's row.
pub(super) const PANEL: usize = 4 * L;

/// Row length of the transposed weight: `OUT` rounded up to whole registers (zeros after).
const fn padded(out: usize) -> usize {
    out.div_ceil(L) * L
}

/// Values of the transposed weight of an `IN x OUT` layer.
pub(super) const fn transposed_len(inputs: usize, outputs: usize) -> usize {
    inputs * padded(outputs)
}

/// Width of panel `panel` (outputs `panel * 64..`): 64, or what is left of the padded row.
const fn panel_width(outputs: usize, panel: usize) -> usize {
    let left = padded(outputs) - panel * PANEL;
    if left < PANEL {
        left
    } else {
        PANEL
    }
}

/// The transposed weight, panel by panel: panel `p` holds `wt[k][o] = w[o][k]` for its
/// outputs `o` (rows of `panel_width` values, the padding zero) and starts at value
/// `IN * 64 * p`, so that one panel is contiguous and a split by panels gives each thread the
/// panels it computes. `panels` holds whole panels from `first_panel` on.
#[target_feature(enable = "avx512f")]
pub(super) fn transpose_panels<const IN: usize, const OUT: usize>(
    w: &[[f32; IN]; OUT],
    first_panel: usize,
    panels: &mut [f32],
) {
    let end = (first_panel * IN * PANEL + panels.len()).div_ceil(IN * PANEL);
    assert!(end * PANEL < padded(OUT) + PANEL);
    for panel in first_panel..end {
        let (col, width) = (panel * PANEL, panel_width(OUT, panel));
        let base = (panel - first_panel) * IN * PANEL;
        assert!(base + IN * width <= panels.len());
        for k in (0..IN).step_by(L) {
            for o in (col..col + width).step_by(L) {
                let mask = if k + L <= IN { 0xFFFF } else { tail_mask(IN) };
                let mut r = [_mm512_setzero_ps(); 16];
                for (i, r) in r.iter_mut().enumerate() {
                    if o + i < OUT {
                        // SAFETY: row `o + i` exists; the mask keeps the load inside it.
                        *r = unsafe { _mm512_maskz_loadu_ps(mask, w[o + i].as_ptr().add(k)) };
                    }
                }
                transpose16(&mut r);
                for (i, r) in r.iter().enumerate().take(IN - k) {
                    // SAFETY: row `k + i < IN` of the panel, columns `o - col..o - col + 16 <=
                    // width`, inside `panels` as asserted.
                    unsafe { _mm512_storeu_ps(panels.as_mut_ptr().add(base + (k + i) * width + o - col), *r) };
                }
            }
        }
    }
}

/// Reduction steps per pass of the batched forward: a 64-column panel of that many rows of the
/// transposed weight (32 KB) stays in L1 while every batch row uses it.
const K_CHUNK: usize = 128;

/// Rows of a batch whose outputs one thread writes: `OUT` values per row from `ptr`.
pub(super) struct Outputs {
    ptr: *mut f32,
    rows: usize,
}

impl Outputs {
    pub(super) fn new<const OUT: usize>(y: &mut [[f32; OUT]]) -> Self {
        Outputs {
            ptr: y.as_mut_ptr().cast(),
            rows: y.len(),
        }
    }
}

// SAFETY: threads given the same `Outputs` write disjoint panels of its columns (the contract of
// `forward_transposed`).
unsafe impl Sync for Outputs {}

/// `y[b][o] = bias[o] + sum_k x[b][k] * wt[k][o]` for the outputs of panels `first_panel..`
/// (`panels` from [`transpose_panels`], whole panels): for each panel and chunk of the
/// reduction, blocks of 6 rows x 64 outputs in 24 registers. Each value is one chain of fused
/// multiply-adds from the bias, in order of `k`, however the loops are blocked or split.
///
/// # Safety
/// The CPU supports AVX-512F; `y` has `x.len()` rows, and no other thread writes the columns of
/// these panels in them while this runs.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn forward_transposed<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    first_panel: usize,
    panels: &[f32],
    bias: &[f32; OUT],
    y: &Outputs,
    activation: Activation,
) {
    let rows = x.len();
    assert!(rows == y.rows);
    let end = (first_panel * IN * PANEL + panels.len()).div_ceil(IN * PANEL);
    for panel in first_panel..end {
        let (col, width) = (panel * PANEL, panel_width(OUT, panel));
        let wt = &panels[(panel - first_panel) * IN * PANEL..][..IN * width];
        for k0 in (0..IN).step_by(K_CHUNK) {
            let k1 = (k0 + K_CHUNK).min(IN);
            for b in (0..rows).step_by(6) {
                let valid = (rows - b).min(6);
                let args = Panel {
                    x: array_from(|r| x[(b + r).min(rows - 1)].as_ptr()),
                    // SAFETY: rows `b..b + valid` exist; later ones repeat the last and are not written.
                    y: array_from(|r| unsafe { y.ptr.add((b + r.min(valid - 1)) * OUT) }),
                    valid,
                    k: k0..k1,
                    col,
                    // The activation when the sums are complete.
                    relu: activation == Activation::Relu && k1 == IN,
                };
                match width / L {
                    4 => forward_panel::<OUT, 4>(&args, wt, bias),
                    3 => forward_panel::<OUT, 3>(&args, wt, bias),
                    2 => forward_panel::<OUT, 2>(&args, wt, bias),
                    _ => forward_panel::<OUT, 1>(&args, wt, bias),
                }
            }
        }
    }
}

/// One block of [`forward_transposed`].
struct Panel {
    x: [*const f32; 6],
    y: [*mut f32; 6],
    valid: usize,
    k: std::ops::Range<usize>,
    col: usize,
    /// Apply `ReLU` as the block is stored (on the last chunk of the reduction).
    relu: bool,
}

/// A block against one panel `wt` of `C` registers' width.
#[inline]
#[target_feature(enable = "avx512f")]
fn forward_panel<const OUT: usize, const C: usize>(p: &Panel, wt: &[f32], bias: &[f32; OUT]) {
    let width = C * L;
    // Output lanes of each vector that exist in `y` (the padding is computed, not stored).
    let masks: [__mmask16; C] = array_from(|c| {
        let start = p.col + c * L;
        if start + L <= OUT {
            0xFFFF
        } else {
            tail_mask(OUT - start)
        }
    });
    let mut acc = [[_mm512_setzero_ps(); C]; 6];
    for (r, acc) in acc.iter_mut().enumerate() {
        for (c, acc) in acc.iter_mut().enumerate() {
            *acc = if p.k.start == 0 {
                // SAFETY: masked load of the bias values that exist.
                unsafe { _mm512_maskz_loadu_ps(masks[c], bias.as_ptr().add(p.col + c * L)) }
            } else {
                // SAFETY: `y[r]` has `OUT` values; the mask keeps the load inside.
                unsafe { _mm512_maskz_loadu_ps(masks[c], p.y[r].add(p.col + c * L)) }
            };
        }
    }
    assert!(p.k.end * width <= wt.len());
    for k in p.k.clone() {
        // SAFETY: row `k` of the panel, inside `wt` as asserted.
        let w_row = unsafe { wt.as_ptr().add(k * width) };
        let mut v = [_mm512_setzero_ps(); C];
        for (c, v) in v.iter_mut().enumerate() {
            // SAFETY: as above.
            *v = unsafe { _mm512_loadu_ps(w_row.add(c * L)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `k < IN`, inside row `x[r]`.
            let s = _mm512_set1_ps(unsafe { *p.x[r].add(k) });
            for c in 0..C {
                acc[c] = _mm512_fmadd_ps(s, v[c], acc[c]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate().take(p.valid) {
        for (c, &acc) in acc.iter().enumerate() {
            let acc = if p.relu {
                // `relu`: lanes below zero become 0.0; NaN and -0.0 pass (not `< 0`).
                let negative = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(acc, _mm512_setzero_ps());
                _mm512_mask_mov_ps(acc, negative, _mm512_setzero_ps())
            } else {
                acc
            };
            // SAFETY: the mask keeps the store inside row `y[r]`.
            unsafe { _mm512_mask_storeu_ps(p.y[r].add(p.col + c * L), masks[c], acc) };
        }
    }
}
