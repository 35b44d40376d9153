//! The input gradient: `T[p][kx, c] = sum_o G[o][p] W[o][c][ky][kx]` for each kernel row
//! `ky`, 6 positions x 16 values of the run `(kx, c)` at a time, added to a channels-last
//! gradient buffer (where each run is contiguous), which is transposed into place at the end.
//! (Used where `mod.rs`'s flipped forward convolution does not apply.)
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::{transpose8, Walk, L, MARGIN};
use crate::kernel::conv::{for_each_sample, with_call_scratch, ConvShape};

/// See [`super::conv2d_backward_input`]. The weight is packed as `wp[o][ky][kx * C + c]` (rows
/// padded with zeros to whole registers); each sample's gradient is summed channels-last in
/// `dxt[iy][ix][c]` (padded), then transposed into place.
#[target_feature(enable = "avx2,fma")]
pub(in crate::kernel::conv) fn backward_input_runs(
    shape: &ConvShape,
    grad_output: &[f32],
    weight: &[f32],
    grad_input: &mut [f32],
) {
    let (c_len, k) = (shape.in_channels, shape.kernel);
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    let run = (k * c_len).next_multiple_of(L);
    let buffer_len = shape.padded_height() * shape.padded_width() * c_len + MARGIN;
    with_call_scratch(shape.out_channels * k * run, |packed| {
        packed.fill(0.0);
        for (i, &w) in weight.iter().enumerate() {
            let (kx, ky) = (i % k, i / k % k);
            let (c, o) = (i / (k * k) % c_len, i / (k * k * c_len));
            packed[(o * k + ky) * run + kx * c_len + c] = w;
        }
        let packed = &*packed;
        for_each_sample(grad_input, in_len, shape.macs_per_sample(), buffer_len, |b, dx, dxt| {
            dxt.fill(0.0);
            let g = &grad_output[b * out_len..][..out_len];
            input_sample(shape, packed, g, dxt);
            channels_first(shape, dxt, dx);
        });
    });
}

/// `dx[c][iy][ix] = dxt[iy + padding][ix + padding][c]`: 8 x 8 blocks (8 columns, 8 channels)
/// transposed in registers, the last block of a row overlapping the one before it.
#[target_feature(enable = "avx2,fma")]
fn channels_first(shape: &ConvShape, dxt: &[f32], dx: &mut [f32]) {
    let (c_len, h, w, pad, wp) = (
        shape.in_channels,
        shape.in_height,
        shape.in_width,
        shape.padding,
        shape.padded_width(),
    );
    assert!(dxt.len() >= shape.padded_height() * wp * c_len + MARGIN && dx.len() == c_len * h * w);
    for c0 in (0..c_len).step_by(L) {
        let channels = (c_len - c0).min(L);
        for iy in 0..h {
            let from = |ix: usize| ((iy + pad) * wp + ix + pad) * c_len + c0;
            if w < L {
                for ix in 0..w {
                    for c in 0..channels {
                        dx[((c0 + c) * h + iy) * w + ix] = dxt[from(ix) + c];
                    }
                }
                continue;
            }
            let mut ix = 0;
            loop {
                let mut r = [_mm256_setzero_ps(); L];
                for (q, r) in r.iter_mut().enumerate() {
                    // SAFETY: 8 values from column `ix + q < w` of a padded row: at most 7 past
                    // the last one, inside the margin.
                    *r = unsafe { _mm256_loadu_ps(dxt.as_ptr().add(from(ix + q))) };
                }
                transpose8(&mut r);
                for (c, r) in r.iter().enumerate().take(channels) {
                    // SAFETY: columns `ix..ix + 8 <= w` of row `iy` of channel `c0 + c`.
                    unsafe { _mm256_storeu_ps(dx.as_mut_ptr().add(((c0 + c) * h + iy) * w + ix), *r) };
                }
                if ix + L == w {
                    break;
                }
                ix = (ix + L).min(w - L);
            }
        }
    }
}

/// One sample of [`backward_input_runs`]: adds its input gradient to `dxt`.
#[target_feature(enable = "avx2,fma")]
fn input_sample(shape: &ConvShape, packed: &[f32], g: &[f32], dxt: &mut [f32]) {
    if shape.kernel * shape.in_channels > L {
        input_blocks::<6>(shape, packed, g, dxt);
    } else {
        input_blocks::<12>(shape, packed, g, dxt);
    }
}

/// Every output position, `R` at a time taken down the columns (so that the `R` runs a tile
/// adds to lie on different rows and do not overlap); for each block of positions, every
/// kernel row `ky` and every 16 (or 8) values of its runs `(kx, c)`: the positions' pointers
/// are computed once for the `kernel * runs / 16` tiles.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn input_blocks<const R: usize>(shape: &ConvShape, packed: &[f32], g: &[f32], dxt: &mut [f32]) {
    let (m, c_len, k, s) = (shape.out_channels, shape.in_channels, shape.kernel, shape.stride);
    let (oh, ow, positions) = (shape.out_height, shape.out_width, shape.positions());
    let run = (k * c_len).next_multiple_of(L);
    let wp = shape.padded_width();
    assert!(packed.len() == m * k * run && g.len() == m * positions);
    assert!(dxt.len() >= shape.padded_height() * wp * c_len + MARGIN);
    let mut walk = Walk::new([1, ow, oh], [0, 1, ow]);
    let mut rows = Walk::new([1, ow, oh], [0, s * c_len, s * wp * c_len]);
    for p0 in (0..positions).step_by(R) {
        let valid = (positions - p0).min(R);
        let gs = walk.next::<R>(valid).map(|at| g[at..].as_ptr());
        let corners = rows.next::<R>(valid).map(|at| dxt[at..].as_mut_ptr());
        for ky in 0..k {
            let mut u0 = 0;
            while u0 < run {
                let out = corners.map(|corner| corner.wrapping_add(ky * wp * c_len + u0));
                let w = packed[ky * run + u0..].as_ptr();
                // SAFETY: `gs[r]` are positions of the `m` channels of `g`; `packed` rows hold
                // `run` values; the run of an output position lies in its padded input rows,
                // plus at most 7 values past the last one, inside the margin.
                unsafe {
                    if R * 2 <= 12 && run - u0 >= 2 * L {
                        input_tile::<R, 2>(gs, positions, m, w, k * run, out, valid);
                        u0 += 2 * L;
                    } else {
                        input_tile::<R, 1>(gs, positions, m, w, k * run, out, valid);
                        u0 += L;
                    }
                }
            }
        }
    }
}

/// `out[r] += sum_o g[r][o * g_stride] * w[o * w_stride..]` for `R` positions and `8 * NV`
/// values, added to the first `valid` rows in order (the others repeat one of them).
///
/// # Safety
/// `g[r] + o * g_stride` must be readable for `o < steps`, `w + o * w_stride` must point at
/// `8 * NV` values and `out[r]` at `8 * NV` writable values.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn input_tile<const R: usize, const NV: usize>(
    g: [*const f32; R],
    g_stride: usize,
    steps: usize,
    w: *const f32,
    w_stride: usize,
    out: [*mut f32; R],
    valid: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); NV]; R];
    for o in 0..steps {
        let mut wv = [_mm256_setzero_ps(); NV];
        for (v, wv) in wv.iter_mut().enumerate() {
            // SAFETY: as the caller guarantees.
            *wv = unsafe { _mm256_loadu_ps(w.add(o * w_stride + v * L)) };
        }
        for (acc, g) in acc.iter_mut().zip(&g) {
            // SAFETY: as the caller guarantees.
            let s = _mm256_set1_ps(unsafe { *g.add(o * g_stride) });
            for (acc, wv) in acc.iter_mut().zip(&wv) {
                *acc = _mm256_fmadd_ps(s, *wv, *acc);
            }
        }
    }
    for (acc, out) in acc.iter().zip(&out).take(valid) {
        for (v, acc) in acc.iter().enumerate() {
            // SAFETY: as the caller guarantees.
            unsafe {
                let at = out.add(v * L);
                _mm256_storeu_ps(at, _mm256_add_ps(_mm256_loadu_ps(at), *acc));
            }
        }
    }
}
