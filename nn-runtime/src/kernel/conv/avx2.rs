//! AVX2+FMA kernels for the three convolution products (called only when the CPU has both,
//! checked at run time by the caller). No im2col matrix is built: the micro-kernels read the
//! input (copied with its zero padding when there is padding) where each tap lies.
//!
//! Two ways to fill the 8 lanes of a register, chosen per convolution by how many lanes each
//! would waste:
//!
//! - along output channels ("channel" kernels, any stride): a block of 6 output positions (or
//!   taps) x 16 channels, or 12 x 8, in 12 accumulators; every step broadcasts one input value
//!   per position and loads the weights (or output gradients) of 16 channels. Good when the
//!   output channels fill the lanes (LeNet's second convolution, 16 channels).
//! - along the columns of an output row ("position" kernels, stride 1): 6 output channels x 16
//!   columns; the input rows are read as they lie, the lanes past the end of a row compute
//!   values that are never stored (or multiplied by zeros). Good for few output channels and
//!   wide images (LeNet's first convolution, 6 channels of 28 columns).
//!
//! The input gradient has one kernel: `T[p][kx, c] = sum_o G[o][p] W[o][c][ky][kx]` for a fixed
//! `ky`, whose rows are contiguous runs of a channels-last gradient buffer `[iy][ix][c]`, so
//! the scatter-add of col2im becomes 8-lane additions.
//!
//! Every value is computed by the same chain of operations whatever the block it falls in (the
//! last block of a row repeats its last position, tap or channel, whose extra results are not
//! stored), so results do not depend on the batch split.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::{for_each_group, for_each_sample, with_call_scratch, ConvShape, GROUP};

/// f32 values per register.
const L: usize = 8;

/// Zeros after a padded input or a gradient buffer, which the position kernels read (and the
/// input-gradient kernel adds zeros to) past the last row.
const MARGIN: usize = 2 * L;

/// Output channels per block of the position kernels.
const ROWS: usize = 6;

/// Where the taps `j = (c, ky, kx)` of a kernel lie in a buffer of channels of `plane` values
/// made of rows of `row` values, and where output positions put the kernel's corner.
#[derive(Clone, Copy)]
struct Layout {
    channels: usize,
    kernel: usize,
    stride: usize,
    out_width: usize,
    plane: usize,
    row: usize,
}

impl Layout {
    /// The layout of `shape`'s input, padded (`padded`) or as given.
    fn new(shape: &ConvShape, padded: bool) -> Layout {
        let (height, width) = if padded {
            (shape.padded_height(), shape.padded_width())
        } else {
            (shape.in_height, shape.in_width)
        };
        Layout {
            channels: shape.in_channels,
            kernel: shape.kernel,
            stride: shape.stride,
            out_width: shape.out_width,
            plane: height * width,
            row: width,
        }
    }

    /// A walk through the taps' offsets from the kernel's corner.
    fn taps(&self) -> Walk {
        let k = self.kernel;
        Walk::new([self.channels, k, k], [self.plane, self.row, 1])
    }

    /// A walk through the offsets of the kernel's corner at the output positions.
    fn positions(&self) -> Walk {
        let s = self.stride;
        Walk::new([1, usize::MAX, self.out_width], [0, s * self.row, s])
    }
}

/// Values of a padded input buffer: the channels with their padding, then `MARGIN` zeros.
fn padded_input_len(shape: &ConvShape) -> usize {
    shape.in_channels * shape.padded_height() * shape.padded_width() + MARGIN
}

/// Copies sample `x` into `xp` (of [`padded_input_len`]) with `padding` zeros around every
/// channel (channels of `padded_height x padded_width`), zeros after: every value of `xp` is
/// written, by vector stores in order (a row's stores may run up to 7 values into the next
/// row, which is written after them).
#[target_feature(enable = "avx2,fma")]
fn pad_input(shape: &ConvShape, x: &[f32], xp: &mut [f32]) {
    let (height, width, pad) = (shape.in_height, shape.in_width, shape.padding);
    let (padded_height, padded_width) = (shape.padded_height(), shape.padded_width());
    let len = shape.in_channels * padded_height * padded_width;
    assert!(x.len() == shape.input_len() && xp.len() == len + MARGIN);
    let out = xp.as_mut_ptr();
    let zero = _mm256_setzero_ps();
    // SAFETY: every store starts before `len` and writes at most 8 values, inside `xp`
    // (`MARGIN >= 8` values after `len`); every load reads a row of `x`.
    unsafe {
        let zeros = |from: usize, to: usize| {
            for at in (from..to).step_by(L) {
                _mm256_storeu_ps(out.add(at), zero);
            }
        };
        for c in 0..shape.in_channels {
            let channel = c * padded_height * padded_width;
            zeros(channel, channel + pad * padded_width);
            for iy in 0..height {
                // One store for small paddings (a loop here would become calls to `memset`).
                let row = channel + (pad + iy) * padded_width;
                if pad > L {
                    zeros(row, row + pad);
                } else if pad > 0 {
                    _mm256_storeu_ps(out.add(row), zero);
                }
                copy_row(out.add(row + pad), x.as_ptr().add((c * height + iy) * width), width);
                let end = row + pad + width.next_multiple_of(L);
                if pad > L {
                    zeros(end, row + padded_width);
                } else if end < row + padded_width {
                    _mm256_storeu_ps(out.add(end), zero);
                }
            }
            zeros(
                channel + (pad + height) * padded_width,
                channel + padded_height * padded_width,
            );
        }
        zeros(len, len + MARGIN);
    }
}

/// Copies `n` values from `from` to `to`, then zeros up to the next multiple of 8 values (the
/// last values in pieces of 4, 2 and 1: masked loads are slow on some CPUs).
///
/// # Safety
/// `n` values must be readable from `from`, `n.next_multiple_of(8)` writable at `to`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn copy_row(to: *mut f32, from: *const f32, n: usize) {
    let full = n / L * L;
    // SAFETY: as the caller guarantees: the loads read values `< n`, the stores write values
    // `< n.next_multiple_of(8)`.
    unsafe {
        for at in (0..full).step_by(L) {
            _mm256_storeu_ps(to.add(at), _mm256_loadu_ps(from.add(at)));
        }
        if full == n {
            return;
        }
        _mm256_storeu_ps(to.add(full), _mm256_setzero_ps());
        let mut at = full;
        if n - at >= 4 {
            _mm_storeu_ps(to.add(at), _mm_loadu_ps(from.add(at)));
            at += 4;
        }
        if n - at >= 2 {
            _mm_storel_epi64(to.add(at).cast(), _mm_loadl_epi64(from.add(at).cast()));
            at += 2;
        }
        if n > at {
            *to.add(at) = *from.add(at);
        }
    }
}

/// A walk through the items of a grid of `sizes[0] x sizes[1] x sizes[2]` items, the last
/// index fastest, item `(a, b, c)` at offset `a * strides[0] + b * strides[1] + c * strides[2]`
/// (no division per item: blocks of taps or positions start anywhere in a row).
#[derive(Clone, Copy)]
struct Walk {
    index: [usize; 3],
    sizes: [usize; 3],
    strides: [usize; 3],
}

impl Walk {
    fn new(sizes: [usize; 3], strides: [usize; 3]) -> Walk {
        Walk {
            index: [0; 3],
            sizes,
            strides,
        }
    }

    /// The offsets of the next `valid` items, then the last one repeated.
    #[inline]
    fn next<const R: usize>(&mut self, valid: usize) -> [usize; R] {
        let mut offsets = [0; R];
        for offset in &mut offsets[..valid] {
            let [a, b, c] = self.index;
            *offset = a * self.strides[0] + b * self.strides[1] + c * self.strides[2];
            self.index[2] += 1;
            if self.index[2] == self.sizes[2] {
                self.index[2] = 0;
                self.index[1] += 1;
                if self.index[1] == self.sizes[1] {
                    self.index[1] = 0;
                    self.index[0] += 1;
                }
            }
        }
        let last = offsets[valid - 1];
        offsets[valid..].fill(last);
        offsets
    }
}

/// Transposes the 8 x 8 block in `r` (row `i` in `r[i]`): column `c` ends in `r[c]`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn transpose8(r: &mut [__m256; 8]) {
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    // `u[i]`, `u[4 + i]`: columns `i` and `4 + i` of rows 0-3 and 4-7, in their two halves.
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    for i in 0..4 {
        r[i] = _mm256_permute2f128_ps::<0x20>(u[i], u[4 + i]);
        r[4 + i] = _mm256_permute2f128_ps::<0x31>(u[i], u[4 + i]);
    }
}

/// Fraction of the lanes of the position kernels that compute stored values: a row of
/// `width` columns is covered by blocks of 16 and one of 8 at the end.
fn row_efficiency(width: usize) -> f64 {
    let lanes = width / (2 * L) * 2 * L
        + match width % (2 * L) {
            0 => 0,
            r if r <= L => L,
            _ => 2 * L,
        };
    width as f64 / lanes as f64
}

/// Fraction of the work of the channel kernels that is useful: channels padded to whole
/// registers, and about one cycle per output value to transpose the block when it is stored
/// (against `taps` multiply-adds per value, 16 a cycle).
fn channel_efficiency(shape: &ConvShape, transposed_store: bool) -> f64 {
    let channels = shape.out_channels as f64;
    let lanes = shape.out_channels.next_multiple_of(L) as f64;
    let store = if transposed_store {
        16.0 / shape.patch_len() as f64
    } else {
        0.0
    };
    channels / lanes / (1.0 + store)
}

/// Whether the position kernels beat the channel kernels for this forward pass.
fn forward_by_positions(shape: &ConvShape) -> bool {
    let rows = shape.out_channels as f64 / shape.out_channels.next_multiple_of(ROWS) as f64;
    shape.stride == 1 && row_efficiency(shape.out_width) * rows > channel_efficiency(shape, true)
}

/// Whether the dot-product kernel beats the channel kernel for this weight gradient.
fn weight_by_positions(shape: &ConvShape) -> bool {
    let m = shape.out_channels;
    let lanes = shape.out_width as f64 / shape.out_width.next_multiple_of(L) as f64;
    let rows = m as f64 / m.next_multiple_of(ROWS) as f64;
    shape.stride == 1 && lanes * rows > channel_efficiency(shape, false)
}

/// See [`super::conv2d_forward`].
#[target_feature(enable = "avx2,fma")]
pub(super) fn forward(shape: &ConvShape, input: &[f32], weight: &[f32], bias: &[f32], output: &mut [f32]) {
    if forward_by_positions(shape) {
        forward_positions(shape, input, weight, bias, output);
    } else {
        forward_channels(shape, input, weight, bias, output);
    }
}

/// The forward pass with the position kernel (stride 1).
#[target_feature(enable = "avx2,fma")]
pub(super) fn forward_positions(shape: &ConvShape, input: &[f32], weight: &[f32], bias: &[f32], output: &mut [f32]) {
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

/// Stores the first `n` lanes of `v` at `at` (`1 <= n <= 8`), in pieces of 4, 2 and 1 lanes
/// (masked stores are slow on some CPUs).
///
/// # Safety
/// `n` values from `at` must be writable.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store_first(at: *mut f32, v: __m256, n: usize) {
    if n == L {
        // SAFETY: as the caller guarantees.
        unsafe { _mm256_storeu_ps(at, v) };
        return;
    }
    let (mut at, mut n) = (at, n);
    let mut part = _mm256_castps256_ps128(v);
    // SAFETY: as the caller guarantees: every store below writes lanes `< n` only.
    unsafe {
        if n >= 4 {
            _mm_storeu_ps(at, part);
            part = _mm256_extractf128_ps::<1>(v);
            at = at.add(4);
            n -= 4;
        }
        if n >= 2 {
            _mm_storel_epi64(at.cast(), _mm_castps_si128(part));
            part = _mm_movehl_ps(part, part);
            at = at.add(2);
            n -= 2;
        }
        if n == 1 {
            _mm_store_ss(at, part);
        }
    }
}

/// The first `n` values at `at` in the first lanes, zeros after (`1 <= n <= 8`), read in
/// pieces of 4, 2 and 1 values: no value past `n` is read, and no mask register is needed.
///
/// # Safety
/// `n` values from `at` must be readable.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load_first(at: *const f32, n: usize) -> __m256 {
    // SAFETY: as the caller guarantees, every load reads values `< n`.
    unsafe {
        let piece = |at: *const f32, n: usize| match n {
            0 => _mm_setzero_ps(),
            1 => _mm_load_ss(at),
            2 => _mm_castsi128_ps(_mm_loadl_epi64(at.cast())),
            3 => _mm_movelh_ps(_mm_castsi128_ps(_mm_loadl_epi64(at.cast())), _mm_load_ss(at.add(2))),
            _ => _mm_loadu_ps(at),
        };
        if n >= L {
            _mm256_loadu_ps(at)
        } else if n > 4 {
            _mm256_set_m128(piece(at.add(4), n - 4), _mm_loadu_ps(at))
        } else {
            _mm256_zextps128_ps256(piece(at, n))
        }
    }
}

/// The forward pass with the channel kernels: the weight is packed as `wt[j][o]` (channels
/// padded with zeros to whole registers), the bias after it.
#[target_feature(enable = "avx2,fma")]
pub(super) fn forward_channels(shape: &ConvShape, input: &[f32], weight: &[f32], bias: &[f32], output: &mut [f32]) {
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

/// See [`super::conv2d_backward_weight`].
#[target_feature(enable = "avx2,fma")]
pub(super) fn backward_weight(
    shape: &ConvShape,
    grad_output: &[f32],
    input: &[f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    if weight_by_positions(shape) {
        weight_positions(shape, grad_output, input, grad_weight, grad_bias);
    } else {
        weight_channels(shape, grad_output, input, grad_weight, grad_bias);
    }
}

/// The weight gradient with the channel kernel: a group's partial sum is `dw[j][o]` (channels
/// padded to whole registers) then `db[o]`; each sample's output gradient is transposed to
/// `gt[p][o]` first.
#[target_feature(enable = "avx2,fma")]
pub(super) fn weight_channels(
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
pub(super) fn weight_positions(
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

/// See [`super::conv2d_backward_input`]. The weight is packed as `wp[o][ky][kx * C + c]` (rows
/// padded with zeros to whole registers); each sample's gradient is summed channels-last in
/// `dxt[iy][ix][c]` (padded), then transposed into place.
#[target_feature(enable = "avx2,fma")]
pub(super) fn backward_input(shape: &ConvShape, grad_output: &[f32], weight: &[f32], grad_input: &mut [f32]) {
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

/// One sample of [`backward_input`]: adds its input gradient to `dxt`.
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
