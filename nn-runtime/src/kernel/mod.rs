//! Numeric kernels, kept apart from the layers that call them.
//!
//! The three products of a fully connected layer, each chosen at run time: AVX-512 micro-kernels
//! when the CPU has AVX-512F (`avx512.rs`), else register-blocked portable code compiled for
//! AVX2+FMA or the baseline target (`dense.rs`). Above a work threshold the batch rows (forward,
//! input gradient) or the output rows (weight gradient) are split across threads
//! ([`crate::set_num_threads`]); every value is computed by the same operations whatever the
//! split, so results are bit-identical for any thread count.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod conv;
mod dense;

pub use conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvShape};

use crate::threads::split_rows;

/// Multiply-adds below which a product runs on the calling thread only: waking a second
/// thread costs about a microsecond, as much as 100k multiply-adds.
const PARALLEL_MIN_MACS: usize = 150_000;

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// Which instruction set the Linear kernels use on this CPU: `"avx512"`, `"avx2+fma"` or
/// `"portable"`.
///
/// ```
/// assert!(["avx512", "avx2+fma", "portable"].contains(&nn::kernel::instruction_set()));
/// ```
pub fn instruction_set() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
    }
    "portable"
}

/// `y[b][o] = bias[o] + dot(x[b], w[o])`: the forward pass.
///
/// ```
/// // x = [1 2], w = [[3 4], [5 6]], bias = [10 20]
/// let mut y = [[0.0; 2]];
/// nn::kernel::linear_forward(&[[1.0, 2.0]], &[[3.0, 4.0], [5.0, 6.0]], &[10.0, 20.0], &mut y);
/// assert_eq!(y, [[21.0, 37.0]]);
/// ```
pub fn linear_forward<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    assert_eq!(x.len(), y.len(), "linear_forward: as many outputs as inputs");
    #[cfg(target_arch = "x86_64")]
    if x.len() >= TRANSPOSE_MIN_ROWS && has_avx512() {
        return forward_avx512_transposed(x, w, bias, y);
    }
    split_rows(y, 4, IN * OUT, PARALLEL_MIN_MACS, |first, y| {
        forward_serial(&x[first..first + y.len()], w, bias, y)
    });
}

/// Batch rows from which the AVX-512 forward transposes the weight first (a copy of the weight
/// costs about as much as 4 rows of products) and uses broadcast micro-kernels.
#[cfg(target_arch = "x86_64")]
const TRANSPOSE_MIN_ROWS: usize = 8;

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// The transposed weight of the last batched forward on this thread; grows to the largest
    /// layer once, then is reused (no allocation per step).
    static TRANSPOSED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(target_arch = "x86_64")]
fn forward_avx512_transposed<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    TRANSPOSED.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let len = IN * avx512::padded(OUT);
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        let wt = &mut buffer[..len];
        #[allow(unsafe_code)]
        // SAFETY: the caller checked that the CPU supports AVX-512F.
        unsafe {
            avx512::transpose(w, wt)
        };
        let wt = &*wt;
        split_rows(y, 6, IN * OUT, PARALLEL_MIN_MACS, |first, y| {
            #[allow(unsafe_code)]
            // SAFETY: as above.
            unsafe {
                avx512::forward_transposed(&x[first..first + y.len()], wt, bias, y)
            }
        });
    });
}

fn forward_serial<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe {
            avx512::forward(x, w, bias, y)
        };
        return;
    }
    dense::linear_forward(x, w, bias, y);
}

/// `dx[b] = sum_o g[b][o] * w[o]`: the gradient with respect to the input, overwriting `dx`.
///
/// ```
/// let mut dx = [[0.0; 2]];
/// nn::kernel::linear_backward_input(&[[1.0, 10.0]], &[[3.0, 4.0], [5.0, 6.0]], &mut dx);
/// assert_eq!(dx, [[53.0, 64.0]]);
/// ```
pub fn linear_backward_input<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
) {
    assert_eq!(
        g.len(),
        dx.len(),
        "linear_backward_input: as many input gradients as output gradients"
    );
    split_rows(dx, 4, IN * OUT, PARALLEL_MIN_MACS, |first, dx| {
        backward_input_serial(&g[first..first + dx.len()], w, dx)
    });
}

fn backward_input_serial<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe {
            avx512::backward_input(g, w, dx)
        };
        return;
    }
    dense::linear_backward_input(g, w, dx);
}

/// `dw[o] = sum_b g[b][o] * x[b]` and `db[o] = sum_b g[b][o]`: the parameter gradients,
/// overwriting `dw` and `db`.
///
/// ```
/// let (mut dw, mut db) = ([[0.0; 2]; 1], [0.0]);
/// nn::kernel::linear_backward_weight(&[[2.0], [1.0]], &[[1.0, 2.0], [3.0, 4.0]], &mut dw, &mut db);
/// assert_eq!((dw, db), ([[5.0, 8.0]], [3.0]));
/// ```
pub fn linear_backward_weight<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    dw: &mut [[f32; IN]; OUT],
    db: &mut [f32; OUT],
) {
    assert_eq!(
        g.len(),
        x.len(),
        "linear_backward_weight: as many output gradients as inputs"
    );
    split_rows(&mut dw[..], 4, IN * g.len(), PARALLEL_MIN_MACS, |first, dw| {
        backward_weight_serial(g, x, first, dw)
    });
    db.fill(0.0);
    for g_row in g {
        for (db, g) in db.iter_mut().zip(g_row) {
            *db += g;
        }
    }
}

fn backward_weight_serial<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe {
            avx512::backward_weight_rows(g, x, first, dw)
        };
        return;
    }
    dense::linear_backward_weight_rows(g, x, first, dw);
}
