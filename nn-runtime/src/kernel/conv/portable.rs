//! The convolution products without vector instructions of our own: each sample's input is
//! copied into its column matrix `Col[J][P]` (im2col) and the products are plain loops the
//! compiler vectorises.

use super::{for_each_group, for_each_sample, with_call_scratch, ConvShape, GROUP};

/// `col[j][p]`: the input value under tap `j = (c, ky, kx)` at output position `p = (oy, ox)`,
/// zero in the padding.
fn im2col(shape: &ConvShape, input: &[f32], col: &mut [f32]) {
    let (k, s, pad) = (shape.kernel, shape.stride, shape.padding);
    let positions = shape.positions();
    let plane = shape.in_height * shape.in_width;
    for c in 0..shape.in_channels {
        let channel = &input[c * plane..][..plane];
        for ky in 0..k {
            for kx in 0..k {
                let row = &mut col[((c * k + ky) * k + kx) * positions..][..positions];
                for oy in 0..shape.out_height {
                    let out_row = &mut row[oy * shape.out_width..][..shape.out_width];
                    let iy = (oy * s + ky).wrapping_sub(pad);
                    if iy >= shape.in_height {
                        out_row.fill(0.0);
                        continue;
                    }
                    let in_row = &channel[iy * shape.in_width..][..shape.in_width];
                    for (ox, value) in out_row.iter_mut().enumerate() {
                        let ix = (ox * s + kx).wrapping_sub(pad);
                        *value = if ix < shape.in_width { in_row[ix] } else { 0.0 };
                    }
                }
            }
        }
    }
}

/// Adds `col[j][p]` to the input value under tap `j` at position `p` (the transpose of
/// [`im2col`]); taps in the padding are dropped.
fn col2im_add(shape: &ConvShape, col: &[f32], grad_input: &mut [f32]) {
    let (k, s, pad) = (shape.kernel, shape.stride, shape.padding);
    let positions = shape.positions();
    let plane = shape.in_height * shape.in_width;
    for c in 0..shape.in_channels {
        let channel = &mut grad_input[c * plane..][..plane];
        for ky in 0..k {
            for kx in 0..k {
                let row = &col[((c * k + ky) * k + kx) * positions..][..positions];
                for oy in 0..shape.out_height {
                    let iy = (oy * s + ky).wrapping_sub(pad);
                    if iy >= shape.in_height {
                        continue;
                    }
                    let in_row = &mut channel[iy * shape.in_width..][..shape.in_width];
                    for (ox, value) in row[oy * shape.out_width..][..shape.out_width].iter().enumerate() {
                        let ix = (ox * s + kx).wrapping_sub(pad);
                        if ix < shape.in_width {
                            in_row[ix] += value;
                        }
                    }
                }
            }
        }
    }
}

/// See [`super::conv2d_forward`].
pub(super) fn forward(shape: &ConvShape, input: &[f32], weight: &[f32], bias: &[f32], output: &mut [f32]) {
    let (patch, positions) = (shape.patch_len(), shape.positions());
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    for_each_sample(
        output,
        out_len,
        shape.macs_per_sample(),
        patch * positions,
        |b, y, col| {
            im2col(shape, &input[b * in_len..][..in_len], col);
            for ((y_row, w_row), b) in y.chunks_exact_mut(positions).zip(weight.chunks_exact(patch)).zip(bias) {
                y_row.fill(*b);
                for (w, col_row) in w_row.iter().zip(col.chunks_exact(positions)) {
                    for (y, x) in y_row.iter_mut().zip(col_row) {
                        *y += w * x;
                    }
                }
            }
        },
    );
}

/// See [`super::conv2d_backward_input`].
pub(super) fn backward_input(shape: &ConvShape, grad_output: &[f32], weight: &[f32], grad_input: &mut [f32]) {
    let (patch, positions) = (shape.patch_len(), shape.positions());
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    for_each_sample(
        grad_input,
        in_len,
        shape.macs_per_sample(),
        patch * positions,
        |b, dx, col| {
            col.fill(0.0);
            let g = &grad_output[b * out_len..][..out_len];
            for (w_row, g_row) in weight.chunks_exact(patch).zip(g.chunks_exact(positions)) {
                for (w, col_row) in w_row.iter().zip(col.chunks_exact_mut(positions)) {
                    for (c, g) in col_row.iter_mut().zip(g_row) {
                        *c += w * g;
                    }
                }
            }
            dx.fill(0.0);
            col2im_add(shape, col, dx);
        },
    );
}

/// See [`super::conv2d_backward_weight`]. A group's partial sum is its weight gradient
/// followed by its bias gradient.
pub(super) fn backward_weight(
    shape: &ConvShape,
    grad_output: &[f32],
    input: &[f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    let (patch, positions) = (shape.patch_len(), shape.positions());
    let (in_len, out_len) = (shape.input_len(), shape.output_len());
    let batch = input.len() / in_len;
    let len = shape.weight_len() + shape.out_channels;
    let groups = batch.div_ceil(GROUP);
    with_call_scratch(groups * len, |partials| {
        let macs = shape.macs_per_sample();
        for_each_group(
            partials,
            len,
            batch,
            macs,
            patch * positions,
            |samples, partial, col| {
                let (dw, db) = partial.split_at_mut(shape.weight_len());
                dw.fill(0.0);
                db.fill(0.0);
                for b in samples {
                    im2col(shape, &input[b * in_len..][..in_len], col);
                    let g = &grad_output[b * out_len..][..out_len];
                    for ((dw_row, g_row), db) in dw.chunks_exact_mut(patch).zip(g.chunks_exact(positions)).zip(&mut *db)
                    {
                        *db += g_row.iter().sum::<f32>();
                        for (dw, col_row) in dw_row.iter_mut().zip(col.chunks_exact(positions)) {
                            *dw += g_row.iter().zip(col_row).map(|(g, x)| g * x).sum::<f32>();
                        }
                    }
                }
            },
        );
        let (first, rest) = partials.split_at(len);
        grad_weight.copy_from_slice(&first[..shape.weight_len()]);
        grad_bias.copy_from_slice(&first[shape.weight_len()..]);
        for partial in rest.chunks_exact(len) {
            let (dw, db) = partial.split_at(shape.weight_len());
            grad_weight.iter_mut().zip(dw).for_each(|(sum, value)| *sum += value);
            grad_bias.iter_mut().zip(db).for_each(|(sum, value)| *sum += value);
        }
    });
}
