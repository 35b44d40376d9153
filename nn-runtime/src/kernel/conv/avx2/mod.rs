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
//!
//! This file chooses the kernels and holds what they share (the walks through taps and
//! positions, the padded input, partial loads and stores, the 8 x 8 transpose); `forward.rs`,
//! `weight.rs` and `input.rs` hold one product each.
#![allow(unsafe_code)]

mod forward;
mod input;
mod weight;

use std::arch::x86_64::*;

pub(super) use forward::{forward_channels, forward_positions};
pub(super) use input::backward_input_runs;
pub(super) use weight::{weight_channels, weight_positions};

use super::ConvShape;

/// f32 values per register.
const L: usize = 8;

/// Zeros after a padded input or a gradient buffer, which the position kernels read (and the
/// input-gradient kernel adds zeros to) past the last row.
const MARGIN: usize = 2 * L;

/// Output channels per block of the position kernels.
const ROWS: usize = 6;

/// See [`super::conv2d_forward`].
#[target_feature(enable = "avx2,fma")]
pub(super) fn forward(shape: &ConvShape, input: &[f32], weight: &[f32], bias: &[f32], output: &mut [f32]) {
    if forward_by_positions(shape) {
        forward_positions(shape, input, weight, bias, output);
    } else {
        forward_channels(shape, input, weight, bias, output);
    }
}

/// See [`super::conv2d_backward_input`]. With stride 1 the input gradient is the forward
/// convolution of the output gradient with the flipped, transposed weight
/// (`W'[c][o][ky][kx] = W[o][c][k - 1 - ky][k - 1 - kx]`, padding `k - 1 - padding`): when
/// the channel kernel suits that convolution (whole registers of input channels), it runs on
/// it, summing over all `out_channels * k * k` taps in registers; otherwise the run kernel of
/// `input.rs` does.
#[target_feature(enable = "avx2,fma")]
pub(super) fn backward_input(shape: &ConvShape, grad_output: &[f32], weight: &[f32], grad_input: &mut [f32]) {
    let Some(flipped) = flipped_shape(shape) else {
        return backward_input_runs(shape, grad_output, weight, grad_input);
    };
    let (m, c_len, k) = (shape.out_channels, shape.in_channels, shape.kernel);
    let taps = m * k * k;
    super::with_flip_scratch(flipped.weight_len() + c_len, |buffer| {
        let (w, bias) = buffer.split_at_mut(flipped.weight_len());
        for c in 0..c_len {
            for o in 0..m {
                for ky in 0..k {
                    for kx in 0..k {
                        w[c * taps + (o * k + ky) * k + kx] =
                            weight[((o * c_len + c) * k + k - 1 - ky) * k + k - 1 - kx];
                    }
                }
            }
        }
        bias.fill(0.0);
        forward_channels(&flipped, grad_output, w, bias, grad_input);
    });
}

/// The forward convolution that gives `shape`'s input gradient, when the channel kernel suits
/// it (see [`backward_input`]).
fn flipped_shape(shape: &ConvShape) -> Option<ConvShape> {
    let k = shape.kernel;
    if shape.stride != 1 || shape.padding >= k || !shape.in_channels.is_multiple_of(L) {
        return None;
    }
    let flipped = ConvShape::new(
        shape.out_channels,
        shape.in_channels,
        k,
        1,
        k - 1 - shape.padding,
        shape.out_height,
        shape.out_width,
    );
    let fits = (flipped.out_height, flipped.out_width) == (shape.in_height, shape.in_width);
    (fits && !forward_by_positions(&flipped)).then_some(flipped)
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

/// Fraction of the lanes of the channel kernels that hold output channels (padded to whole
/// registers).
fn channel_efficiency(shape: &ConvShape) -> f64 {
    shape.out_channels as f64 / shape.out_channels.next_multiple_of(L) as f64
}

/// Whether the position kernels beat the channel kernels for this forward pass.
fn forward_by_positions(shape: &ConvShape) -> bool {
    let rows = shape.out_channels as f64 / shape.out_channels.next_multiple_of(ROWS) as f64;
    shape.stride == 1 && row_efficiency(shape.out_width) * rows > channel_efficiency(shape)
}

/// Whether the dot-product kernel beats the channel kernel for this weight gradient.
fn weight_by_positions(shape: &ConvShape) -> bool {
    let m = shape.out_channels;
    let lanes = shape.out_width as f64 / shape.out_width.next_multiple_of(L) as f64;
    let rows = m as f64 / m.next_multiple_of(ROWS) as f64;
    shape.stride == 1 && lanes * rows > channel_efficiency(shape)
}

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
