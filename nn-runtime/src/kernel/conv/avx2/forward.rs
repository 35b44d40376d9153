//! The forward pass: the position kernel (6 output channels x 16 columns of an output row,
//! stride 1) and the channel kernel (6 positions x 16 output channels, or 12 x 8, any stride).
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::{pad_input, padded_input_len, store_first, transpose8, Layout, L, MARGIN, ROWS};
use crate::kernel::conv::{for_each_sample, with_call_scratch, ConvShape};

/// The forward pass with the position kernel (stride 1).
#[target_feature(enable = "avx2,fma")]
pub(in crate::kernel::conv) fn forward_positions(
    shape: &ConvShape,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
) {
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    let padded_len = padded_input_len(shape);
    for_each_sample(output, out_len, shape.macs_per_sample(), padded_len, |b, y, xp| {
        pad_input(shape, &input[b * in_len..][..in_len], xp);
        forward_positions_sample(shape, xp, weight, bias, y);
    });
}

/// One sample of [`forward_positions`]: `xp` is the padded input followed by `MARGIN` zeros.
#[target_feature(enable = "avx2,fma")]
fn forward_positions_sample(shape: &ConvShape, xp: &[f32], weight: &[f32], bias: &[f32], y: &mut [f32]) {
    let (m, taps, positions) = (shape.out_channels, shape.patch_len(), shape.positions());
    let (oh, ow) = (shape.out_height, shape.out_width);
    let layout = Layout::new(shape, true);
    assert!(xp.len() >= layout.channels * layout.plane + MARGIN && y.len() == m * positions);
    for o0 in (0..m).step_by(ROWS) {
        let rows = (m - o0).min(ROWS);
        let channel = |r: usize| o0 + r.min(rows - 1);
        let w: [*const f32; ROWS] = std::array::from_fn(|r| weight[channel(r) * taps..].as_ptr());
        let b: [f32; ROWS] = std::array::from_fn(|r| bias[channel(r)]);
        for oy in 0..oh {
            let mut ox = 0;
            while ox < ow {
                let x = xp[oy * layout.row + ox..].as_ptr();
                // SAFETY: `y` has `m` channels of `oh * ow` values; the rows `o0..o0 + rows`
                // and columns `ox..ow` of row `oy` are in bounds.
                let out = unsafe { y.as_mut_ptr().add(o0 * positions + oy * ow + ox) };
                let left = ow - ox;
                // SAFETY: the taps of `x` lie in the padded input (plus at most 16 values past
                // the row for the lanes beyond `ow`, inside the margin after the last row, as
                // `ow + kernel - 1 == padded_width`); `w[r]` are rows of `taps` weights.
                unsafe {
                    if left > L {
                        let acc = positions_tile::<2>(w, x, &layout, b);
                        store_rows(&acc, out, positions, rows, left.min(2 * L));
                        ox += 2 * L;
                    } else {
                        let acc = positions_tile::<1>(w, x, &layout, b);
                        store_rows(&acc, out, positions, rows, left);
                        ox += L;
                    }
                }
            }
        }
    }
}

/// `bias[r] + sum_j w[r][j] * x[tap(j) + column]` for `ROWS` channels and `8 * NV` columns.
///
/// # Safety
/// `w[r]` must point at `J` values and every `x + tap(j) + 8 * NV` inside one allocation.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn positions_tile<const NV: usize>(
    w: [*const f32; ROWS],
    x: *const f32,
    layout: &Layout,
    bias: [f32; ROWS],
) -> [[__m256; NV]; ROWS] {
    let mut acc = [[_mm256_setzero_ps(); NV]; ROWS];
    for (acc, &b) in acc.iter_mut().zip(&bias) {
        *acc = [_mm256_set1_ps(b); NV];
    }
    let k = layout.kernel;
    let mut j = 0;
    for c in 0..layout.channels {
        for ky in 0..k {
            // SAFETY: inside the input, as the caller guarantees.
            let row = unsafe { x.add(c * layout.plane + ky * layout.row) };
            for kx in 0..k {
                let mut xv = [_mm256_setzero_ps(); NV];
                for (v, xv) in xv.iter_mut().enumerate() {
                    // SAFETY: as above.
                    *xv = unsafe { _mm256_loadu_ps(row.add(kx + v * L)) };
                }
                for (acc, w) in acc.iter_mut().zip(&w) {
                    // SAFETY: `j < J`, inside the weight row.
                    let s = _mm256_set1_ps(unsafe { *w.add(j) });
                    for (acc, xv) in acc.iter_mut().zip(&xv) {
                        *acc = _mm256_fmadd_ps(s, *xv, *acc);
                    }
                }
                j += 1;
            }
        }
    }
    acc
}

/// Stores the first `rows` rows of `acc` at `out + r * stride`, `columns` values each
/// (`8 * NV - 8 < columns <= 8 * NV`).
///
/// # Safety
/// Those values must be writable.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store_rows<const NV: usize>(
    acc: &[[__m256; NV]; ROWS],
    out: *mut f32,
    stride: usize,
    rows: usize,
    columns: usize,
) {
    let last = columns - (NV - 1) * L;
    for (r, acc) in acc.iter().enumerate().take(rows) {
        // SAFETY: the first `columns` values of row `r` are writable, as the caller guarantees.
        unsafe {
            let at = out.add(r * stride);
            for (v, acc) in acc.iter().enumerate().take(NV - 1) {
                _mm256_storeu_ps(at.add(v * L), *acc);
            }
            store_first(at.add((NV - 1) * L), acc[NV - 1], last);
        }
    }
}

/// The forward pass with the channel kernels: the weight is packed as `wt[j][o]` (channels
/// padded with zeros to whole registers), the bias after it.
#[target_feature(enable = "avx2,fma")]
pub(in crate::kernel::conv) fn forward_channels(
    shape: &ConvShape,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
) {
    let (m, taps) = (shape.out_channels, shape.patch_len());
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    let lanes = m.next_multiple_of(L);
    with_call_scratch((taps + 1) * lanes, |packed| {
        packed.fill(0.0);
        for (o, w_row) in weight.chunks_exact(taps).enumerate() {
            for (j, &w) in w_row.iter().enumerate() {
                packed[j * lanes + o] = w;
            }
        }
        packed[taps * lanes..][..m].copy_from_slice(bias);
        let packed = &*packed;
        let padded = shape.padding > 0;
        let padded_len = if padded { padded_input_len(shape) } else { 0 };
        // The output transposed, `yt[p][o]`, rows up to a multiple of 8.
        let transposed_len = shape.positions().next_multiple_of(L) * lanes;
        let scratch_len = transposed_len + padded_len;
        for_each_sample(
            output,
            out_len,
            shape.macs_per_sample(),
            scratch_len,
            |b, y, scratch| {
                let (yt, xp) = scratch.split_at_mut(transposed_len);
                let x = &input[b * in_len..][..in_len];
                let x = if padded {
                    pad_input(shape, x, xp);
                    &*xp
                } else {
                    x
                };
                forward_channels_sample(shape, packed, x, padded, yt);
                transpose_output(yt, lanes, shape.positions(), y);
            },
        );
    });
}

/// One sample of [`forward_channels`]: `x` is the input, padded if `padded`; the output is
/// written transposed, `yt[p][o]` (rows of `lanes`).
#[target_feature(enable = "avx2,fma")]
fn forward_channels_sample(shape: &ConvShape, packed: &[f32], x: &[f32], padded: bool, yt: &mut [f32]) {
    let lanes = shape.out_channels.next_multiple_of(L);
    let mut o0 = 0;
    while o0 < lanes {
        if lanes - o0 >= 2 * L {
            forward_channels_block::<6, 2>(shape, packed, x, padded, yt, o0);
            o0 += 2 * L;
        } else {
            forward_channels_block::<12, 1>(shape, packed, x, padded, yt, o0);
            o0 += L;
        }
    }
}

/// `y[o][p] = yt[p][o]` for the `y.len() / positions` channels, `yt` having rows of `lanes`
/// up to a multiple of 8 positions (the rows past `positions` are read, not used): 8 x 8
/// blocks transposed in registers.
#[target_feature(enable = "avx2,fma")]
fn transpose_output(yt: &[f32], lanes: usize, positions: usize, y: &mut [f32]) {
    let m = y.len() / positions;
    assert!(yt.len() >= positions.next_multiple_of(L) * lanes && m <= lanes && y.len() == m * positions);
    for o0 in (0..m).step_by(L) {
        let channels = (m - o0).min(L);
        for p in (0..positions).step_by(L) {
            let mut r = [_mm256_setzero_ps(); L];
            for (q, r) in r.iter_mut().enumerate() {
                // SAFETY: row `p + q` of `yt` exists (rows up to a multiple of 8), columns
                // `o0..o0 + 8 <= lanes`.
                *r = unsafe { _mm256_loadu_ps(yt.as_ptr().add((p + q) * lanes + o0)) };
            }
            transpose8(&mut r);
            let n = (positions - p).min(L);
            for (c, r) in r.iter().enumerate().take(channels) {
                // SAFETY: positions `p..p + n` of channel `o0 + c < m` of `y`.
                unsafe { store_first(y.as_mut_ptr().add((o0 + c) * positions + p), *r, n) };
            }
        }
    }
}

/// Channels `o0..o0 + 8 * NV` of one sample, `R` positions at a time, into `yt[p][o]`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn forward_channels_block<const R: usize, const NV: usize>(
    shape: &ConvShape,
    packed: &[f32],
    x: &[f32],
    padded: bool,
    yt: &mut [f32],
    o0: usize,
) {
    let (m, taps, positions) = (shape.out_channels, shape.patch_len(), shape.positions());
    let lanes = m.next_multiple_of(L);
    let layout = Layout::new(shape, padded);
    assert!(packed.len() == (taps + 1) * lanes && o0 + NV * L <= lanes && yt.len() >= positions * lanes);
    assert!(x.len() >= layout.channels * layout.plane);
    let mut walk = layout.positions();
    for p0 in (0..positions).step_by(R) {
        let valid = (positions - p0).min(R);
        let xs = walk.next::<R>(valid).map(|at| x[at..].as_ptr());
        // SAFETY: the taps of every position lie in `x`; `packed` has `taps + 1` rows of
        // `lanes` values and `o0 + 8 * NV <= lanes`.
        let acc = unsafe {
            channels_tile::<R, NV>(
                xs,
                &layout,
                packed.as_ptr().add(o0),
                lanes,
                packed.as_ptr().add(taps * lanes + o0),
            )
        };
        for (r, acc) in acc.iter().enumerate().take(valid) {
            for (v, acc) in acc.iter().enumerate() {
                // SAFETY: row `p0 + r < positions` of `yt`, columns `o0 + 8 * v + 8 <= lanes`.
                unsafe { _mm256_storeu_ps(yt.as_mut_ptr().add((p0 + r) * lanes + o0 + v * L), *acc) };
            }
        }
    }
}

/// `bias[o] + sum_j x[r][tap(j)] * wt[j][o]` for `R` positions and `8 * NV` channels.
///
/// # Safety
/// Every `x[r] + tap(j)` must be readable, `wt + j * stride` and `bias` must point at
/// `8 * NV` values.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn channels_tile<const R: usize, const NV: usize>(
    x: [*const f32; R],
    layout: &Layout,
    wt: *const f32,
    stride: usize,
    bias: *const f32,
) -> [[__m256; NV]; R] {
    let mut init = [_mm256_setzero_ps(); NV];
    for (v, init) in init.iter_mut().enumerate() {
        // SAFETY: as the caller guarantees.
        *init = unsafe { _mm256_loadu_ps(bias.add(v * L)) };
    }
    let mut acc = [init; R];
    let k = layout.kernel;
    let mut w = wt;
    for c in 0..layout.channels {
        for ky in 0..k {
            let offset = c * layout.plane + ky * layout.row;
            for kx in 0..k {
                let mut wv = [_mm256_setzero_ps(); NV];
                for (v, wv) in wv.iter_mut().enumerate() {
                    // SAFETY: as the caller guarantees.
                    *wv = unsafe { _mm256_loadu_ps(w.add(v * L)) };
                }
                for (acc, x) in acc.iter_mut().zip(&x) {
                    // SAFETY: as the caller guarantees.
                    let s = _mm256_set1_ps(unsafe { *x.add(offset + kx) });
                    for (acc, wv) in acc.iter_mut().zip(&wv) {
                        *acc = _mm256_fmadd_ps(s, *wv, *acc);
                    }
                }
                w = w.wrapping_add(stride);
            }
        }
    }
    acc
}
