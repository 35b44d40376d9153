//! The weight gradient: the channel kernel (6 taps x 16 output channels, or 12 x 8, summed
//! over the positions; any stride) and the dot-product kernel (6 output channels x 2 taps,
//! dot products along the rows; stride 1).
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::{load_first, pad_input, padded_input_len, transpose8, Layout, L, MARGIN, ROWS};
use crate::kernel::conv::{for_each_group, with_call_scratch, ConvShape, GROUP};

/// The weight gradient with the channel kernel: a group's partial sum is `dw[j][o]` (channels
/// padded to whole registers) then `db[o]`; each sample's output gradient is transposed to
/// `gt[p][o]` first.
#[target_feature(enable = "avx2,fma")]
pub(in crate::kernel::conv) fn weight_channels(
    shape: &ConvShape,
    grad_output: &[f32],
    input: &[f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    let (m, taps, positions) = (shape.out_channels, shape.patch_len(), shape.positions());
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    let batch = input.len() / in_len;
    let lanes = m.next_multiple_of(L);
    let len = (taps + 1) * lanes;
    let padded = shape.padding > 0;
    let padded_len = if padded { padded_input_len(shape) } else { 0 };
    with_call_scratch(batch.div_ceil(GROUP) * len, |partials| {
        let (macs, scratch_len) = (shape.macs_per_sample(), positions * lanes + padded_len);
        for_each_group(partials, len, batch, macs, scratch_len, |samples, partial, scratch| {
            partial.fill(0.0);
            let (dw, db) = partial.split_at_mut(taps * lanes);
            let (gt, xp) = scratch.split_at_mut(positions * lanes);
            for b in samples {
                transpose_gradient(&grad_output[b * out_len..][..out_len], positions, lanes, gt, db);
                let x = &input[b * in_len..][..in_len];
                let x = if padded {
                    pad_input(shape, x, xp);
                    &*xp
                } else {
                    x
                };
                weight_channels_sample(shape, gt, x, padded, dw);
            }
        });
        let total = sum_groups(partials, len);
        for o in 0..m {
            grad_bias[o] = total[taps * lanes + o];
            for j in 0..taps {
                grad_weight[o * taps + j] = total[j * lanes + o];
            }
        }
    });
}

/// Adds the partial sums of the groups (`len` values each) into the first, in order of the
/// groups, and returns it.
fn sum_groups(partials: &mut [f32], len: usize) -> &[f32] {
    let (total, rest) = partials.split_at_mut(len);
    for partial in rest.chunks_exact(len) {
        total.iter_mut().zip(partial).for_each(|(sum, value)| *sum += value);
    }
    total
}

/// `gt[p][o] = g[o][p]` (rows of `lanes`, channels past `g.len() / positions` zero), and
/// `db[o] += sum_p g[o][p]`, in order of `p`: 8 x 8 blocks transposed in registers.
#[target_feature(enable = "avx2,fma")]
fn transpose_gradient(g: &[f32], positions: usize, lanes: usize, gt: &mut [f32], db: &mut [f32]) {
    let m = g.len() / positions;
    assert!(gt.len() == positions * lanes && db.len() == lanes && lanes.is_multiple_of(L) && m <= lanes);
    for o0 in (0..lanes).step_by(L) {
        let rows = m.saturating_sub(o0).min(L);
        // SAFETY: `db` has `lanes` values.
        let mut sum = unsafe { _mm256_loadu_ps(db.as_ptr().add(o0)) };
        let mut p = 0;
        while p + L <= positions {
            let mut r = [_mm256_setzero_ps(); L];
            for (i, r) in r.iter_mut().enumerate().take(rows) {
                // SAFETY: channel `o0 + i < m` has `positions >= p + 8` values.
                *r = unsafe { _mm256_loadu_ps(g.as_ptr().add((o0 + i) * positions + p)) };
            }
            transpose8(&mut r);
            for (q, r) in r.iter().enumerate() {
                // SAFETY: row `p + q < positions` of `gt`, columns `o0..o0 + 8 <= lanes`.
                unsafe { _mm256_storeu_ps(gt.as_mut_ptr().add((p + q) * lanes + o0), *r) };
                sum = _mm256_add_ps(sum, *r);
            }
            p += L;
        }
        for p in p..positions {
            let mut column = [0.0f32; L];
            for (i, value) in column.iter_mut().enumerate().take(rows) {
                *value = g[(o0 + i) * positions + p];
            }
            gt[p * lanes + o0..][..L].copy_from_slice(&column);
            // SAFETY: `column` holds 8 values.
            sum = _mm256_add_ps(sum, unsafe { _mm256_loadu_ps(column.as_ptr()) });
        }
        // SAFETY: as above.
        unsafe { _mm256_storeu_ps(db.as_mut_ptr().add(o0), sum) };
    }
}

/// One sample of [`weight_channels`]: adds its weight gradient to `dw[j][o]`.
#[target_feature(enable = "avx2,fma")]
fn weight_channels_sample(shape: &ConvShape, gt: &[f32], x: &[f32], padded: bool, dw: &mut [f32]) {
    let lanes = shape.out_channels.next_multiple_of(L);
    let mut o0 = 0;
    while o0 < lanes {
        if lanes - o0 >= 2 * L {
            weight_channels_block::<6, 2>(shape, gt, x, padded, dw, o0);
            o0 += 2 * L;
        } else {
            weight_channels_block::<12, 1>(shape, gt, x, padded, dw, o0);
            o0 += L;
        }
    }
}

/// Channels `o0..o0 + 8 * NV` of [`weight_channels_sample`], `R` taps at a time.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn weight_channels_block<const R: usize, const NV: usize>(
    shape: &ConvShape,
    gt: &[f32],
    x: &[f32],
    padded: bool,
    dw: &mut [f32],
    o0: usize,
) {
    let (taps, positions) = (shape.patch_len(), shape.positions());
    let lanes = shape.out_channels.next_multiple_of(L);
    let layout = Layout::new(shape, padded);
    assert!(gt.len() == positions * lanes && dw.len() == taps * lanes && o0 + NV * L <= lanes);
    assert!(x.len() >= layout.channels * layout.plane);
    let mut walk = layout.taps();
    for j0 in (0..taps).step_by(R) {
        let valid = (taps - j0).min(R);
        let xs = walk.next::<R>(valid).map(|at| x[at..].as_ptr());
        let out: [*mut f32; R] = std::array::from_fn(|r| dw[(j0 + r.min(valid - 1)) * lanes + o0..].as_mut_ptr());
        // SAFETY: every position's taps lie in `x`; `gt` has `positions` rows of `lanes`
        // values, `dw` `taps` rows, and `o0 + 8 * NV <= lanes`.
        unsafe { weight_channels_tile::<R, NV>(xs, &layout, positions, gt.as_ptr().add(o0), lanes, out, valid) };
    }
}

/// `out[r][o] += sum_p x[r][position(p)] * gt[p][o]` for `R` taps and `8 * NV` channels; only
/// the first `valid` rows are written (the others repeat one of them).
///
/// # Safety
/// Every `x[r] + position(p)` must be readable, `gt + p * stride` and `out[r]` must point at
/// `8 * NV` values (writable for `out`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_channels_tile<const R: usize, const NV: usize>(
    x: [*const f32; R],
    layout: &Layout,
    positions: usize,
    gt: *const f32,
    stride: usize,
    out: [*mut f32; R],
    valid: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); NV]; R];
    for (acc, out) in acc.iter_mut().zip(&out) {
        for (v, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as the caller guarantees.
            *acc = unsafe { _mm256_loadu_ps(out.add(v * L)) };
        }
    }
    let mut g = gt;
    let (s, width) = (layout.stride, layout.out_width);
    for oy in 0..positions / width {
        let row = oy * s * layout.row;
        for ox in 0..width {
            let at = row + ox * s;
            let mut gv = [_mm256_setzero_ps(); NV];
            for (v, gv) in gv.iter_mut().enumerate() {
                // SAFETY: as the caller guarantees.
                *gv = unsafe { _mm256_loadu_ps(g.add(v * L)) };
            }
            for (acc, x) in acc.iter_mut().zip(&x) {
                // SAFETY: as the caller guarantees.
                let value = _mm256_set1_ps(unsafe { *x.add(at) });
                for (acc, gv) in acc.iter_mut().zip(&gv) {
                    *acc = _mm256_fmadd_ps(value, *gv, *acc);
                }
            }
            g = g.wrapping_add(stride);
        }
    }
    for (acc, out) in acc.iter().zip(&out).take(valid) {
        for (v, acc) in acc.iter().enumerate() {
            // SAFETY: as the caller guarantees.
            unsafe { _mm256_storeu_ps(out.add(v * L), *acc) };
        }
    }
}

/// Taps per block of the dot-product weight-gradient kernel (`ROWS` channels x 2 taps).
const DOT_TAPS: usize = 2;

/// The weight gradient with the dot-product kernel (stride 1): `dw[o][j]` is the dot product
/// of the output gradient's channel `o` with the input rows under tap `j`, 8 columns at a
/// time. A group's partial sum keeps the 8 lanes apart: `lanes[j][o][8]` then the bias's
/// `lanes[o][8]`; they are added at the very end, in a fixed order.
#[target_feature(enable = "avx2,fma")]
pub(in crate::kernel::conv) fn weight_positions(
    shape: &ConvShape,
    grad_output: &[f32],
    input: &[f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    let (m, taps) = (shape.out_channels, shape.patch_len());
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    let batch = input.len() / in_len;
    let len = (taps + 1) * m * L;
    let padded_len = padded_input_len(shape);
    with_call_scratch(batch.div_ceil(GROUP) * len, |partials| {
        for_each_group(
            partials,
            len,
            batch,
            shape.macs_per_sample(),
            padded_len,
            |samples, partial, xp| {
                partial.fill(0.0);
                for b in samples {
                    pad_input(shape, &input[b * in_len..][..in_len], xp);
                    weight_positions_sample(shape, &grad_output[b * out_len..][..out_len], xp, partial);
                }
            },
        );
        let total = sum_groups(partials, len);
        let sum = |at: usize| {
            let lanes = &total[at * L..][..L];
            ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
        };
        for o in 0..m {
            grad_bias[o] = sum(taps * m + o);
            for j in 0..taps {
                grad_weight[o * taps + j] = sum(j * m + o);
            }
        }
    });
}

/// One sample of [`weight_positions`]: adds its gradients' lanes to `partial`.
#[target_feature(enable = "avx2,fma")]
fn weight_positions_sample(shape: &ConvShape, g: &[f32], xp: &[f32], partial: &mut [f32]) {
    let (m, taps, positions) = (shape.out_channels, shape.patch_len(), shape.positions());
    let (oh, ow) = (shape.out_height, shape.out_width);
    let layout = Layout::new(shape, true);
    assert!(xp.len() >= layout.channels * layout.plane + MARGIN && g.len() == m * positions);
    assert!(partial.len() == (taps + 1) * m * L);
    for o0 in (0..m).step_by(ROWS) {
        let rows = (m - o0).min(ROWS);
        let channel = |r: usize| o0 + r.min(rows - 1);
        let gs: [*const f32; ROWS] = std::array::from_fn(|r| g[channel(r) * positions..].as_ptr());
        let mut walk = layout.taps();
        for j0 in (0..taps).step_by(DOT_TAPS) {
            let valid = (taps - j0).min(DOT_TAPS);
            let tap = |t: usize| j0 + t.min(valid - 1);
            let xs = walk.next::<DOT_TAPS>(valid).map(|at| xp[at..].as_ptr());
            let out: [[*mut f32; DOT_TAPS]; ROWS] =
                std::array::from_fn(|r| std::array::from_fn(|t| partial[(tap(t) * m + channel(r)) * L..].as_mut_ptr()));
            // SAFETY: `gs[r]` are channels of `oh` rows of `ow` values; the rows under every
            // tap lie in `xp` (plus at most 7 values past a row, inside the margin after the
            // last one); `out` points at 8 lanes of `partial` each.
            unsafe { dot_tile(gs, xs, oh, ow, layout.row, out, rows, valid) };
        }
        // The bias: the sums of the output gradient's channels, one chain each.
        let at: [*mut f32; ROWS] = std::array::from_fn(|r| partial[(taps * m + channel(r)) * L..].as_mut_ptr());
        // SAFETY: `gs[r]` are channels of `positions` values and `at[r]` point at 8 lanes of
        // `partial`.
        unsafe {
            let mut acc = [_mm256_setzero_ps(); ROWS];
            for (acc, at) in acc.iter_mut().zip(&at) {
                *acc = _mm256_loadu_ps(*at);
            }
            for i in (0..positions).step_by(L) {
                for (acc, g) in acc.iter_mut().zip(&gs) {
                    *acc = _mm256_add_ps(*acc, load_first(g.add(i), positions - i));
                }
            }
            for (acc, at) in acc.iter().zip(&at).take(rows) {
                _mm256_storeu_ps(*at, *acc);
            }
        }
    }
}

/// `out[r][t] += lanes of sum over rows i of g[r][i * width..] * x[t][i * row..]`, 8 columns
/// at a time (the lanes of `g` past `width` zero); only rows `r < rows` and taps `t < taps` are
/// written.
///
/// # Safety
/// `g[r]` must point at `height * width` values, `x[t] + i * row` at `width.next_multiple_of(8)`
/// readable values, `out[r][t]` at 8 writable values.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_tile(
    g: [*const f32; ROWS],
    x: [*const f32; DOT_TAPS],
    height: usize,
    width: usize,
    row: usize,
    out: [[*mut f32; DOT_TAPS]; ROWS],
    rows: usize,
    taps: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); DOT_TAPS]; ROWS];
    for (acc, out) in acc.iter_mut().zip(&out) {
        for (acc, out) in acc.iter_mut().zip(out) {
            // SAFETY: as the caller guarantees.
            *acc = unsafe { _mm256_loadu_ps(*out) };
        }
    }
    let (full, tail) = (width / L * L, width % L);
    // One step: columns `column..column + 8` of row `i`; with `tail`, only the first `tail`
    // values of the output gradient are read, the other lanes zero.
    let mut step = |i: usize, column: usize, tail: usize| {
        let mut xv = [_mm256_setzero_ps(); DOT_TAPS];
        for (xv, x) in xv.iter_mut().zip(&x) {
            // SAFETY: as the caller guarantees.
            *xv = unsafe { _mm256_loadu_ps(x.add(i * row + column)) };
        }
        for (acc, g) in acc.iter_mut().zip(&g) {
            // SAFETY: as the caller guarantees.
            let gv = unsafe {
                let at = g.add(i * width + column);
                if tail == 0 {
                    _mm256_loadu_ps(at)
                } else {
                    load_first(at, tail)
                }
            };
            for (acc, xv) in acc.iter_mut().zip(&xv) {
                *acc = _mm256_fmadd_ps(gv, *xv, *acc);
            }
        }
    };
    for i in 0..height {
        for column in (0..full).step_by(L) {
            step(i, column, 0);
        }
    }
    // The last columns of every row in a loop of their own, which keeps the loop above tight.
    if tail > 0 {
        for i in 0..height {
            step(i, full, tail);
        }
    }
    for (acc, out) in acc.iter().zip(&out).take(rows) {
        for (acc, out) in acc.iter().zip(out).take(taps) {
            // SAFETY: as the caller guarantees.
            unsafe { _mm256_storeu_ps(*out, *acc) };
        }
    }
}
